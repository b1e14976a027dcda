using Microsoft.ML.Tokenizers;
using TorchSharp;
using static TorchSharp.torch;

namespace NewLlm;

/// <summary>
/// Streams tokens from a <see cref="NewLlmModel"/>. Memory per token is constant: only the context vector is
/// carried from one token to the next.
/// </summary>
public sealed class NewLlmGenerator
{
    private readonly NewLlmModel _model;

    /// <summary>Creates a generator over <paramref name="model"/> (switched to evaluation mode while generating).</summary>
    public NewLlmGenerator(NewLlmModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        _model = model;
    }

    /// <summary>
    /// Reads <paramref name="prompt"/> from <paramref name="state"/> (or from a zero state) and yields generated
    /// token ids one by one. When a state is given it is advanced in place through the prompt and every yielded
    /// token, so a conversation can continue from it.
    /// </summary>
    /// <param name="prompt">Token ids to read first; at least one unless a state is given that already read something.</param>
    /// <param name="options">Sampling options (validated).</param>
    /// <param name="state">Optional state to continue from and update; a fresh zero state when null.</param>
    /// <param name="cancellationToken">Stops generation between tokens.</param>
    public IEnumerable<int> Generate(IReadOnlyList<int> prompt, GenerationOptions options, GenerationSession? state = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (prompt.Count == 0 && state?.LastLogits is null)
        {
            throw new ArgumentException("The prompt is empty and no state with a previous token was given: there is nothing to continue from.", nameof(prompt));
        }

        return GenerateIterator(prompt, options, state, cancellationToken);
    }

    /// <summary>
    /// Text in, text out: encodes <paramref name="prompt"/> with <paramref name="tokenizer"/>, generates as
    /// <see cref="Generate"/> does, and yields the continuation as text, word by word
    /// (<see cref="DecodeByWords"/>): the pieces concatenate to the decoded continuation, and a character split
    /// across tokens (byte-level BPE such as GPT-2's) is never yielded broken.
    /// </summary>
    /// <param name="tokenizer">The model's tokenizer (for a NewLlm.Data <c>DialogueTokenizer</c>, its <c>Tokenizer</c>).</param>
    /// <param name="prompt">Text to read first; may be empty only when <paramref name="state"/> has already read something.</param>
    /// <param name="options">Sampling options (validated); its stop sequences are token ids and are not part of the text.</param>
    /// <param name="state">Optional state to continue from and update; a fresh zero state when null.</param>
    /// <param name="cancellationToken">Stops generation between tokens.</param>
    /// <returns>Pieces of text, each a whole word with the whitespace after it, the last one what remains.</returns>
    /// <exception cref="ArgumentException">The prompt is empty and no state that has read something was given.</exception>
    public IEnumerable<string> StreamText(Tokenizer tokenizer, string prompt, GenerationOptions options, GenerationSession? state = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(prompt);
        IReadOnlyList<int> ids = prompt.Length == 0 ? [] : tokenizer.EncodeToIds(prompt);
        return DecodeByWords(tokenizer, Generate(ids, options, state, cancellationToken));
    }

    /// <summary>
    /// Text in, text out, in one call: the whole continuation of <paramref name="prompt"/>, decoded at once
    /// (the concatenation of what <see cref="StreamText"/> yields).
    /// </summary>
    /// <param name="tokenizer">The model's tokenizer (for a NewLlm.Data <c>DialogueTokenizer</c>, its <c>Tokenizer</c>).</param>
    /// <param name="prompt">Text to read first; may be empty only when <paramref name="state"/> has already read something.</param>
    /// <param name="options">Sampling options (validated).</param>
    /// <param name="state">Optional state to continue from and update; a fresh zero state when null.</param>
    /// <param name="cancellationToken">Stops generation between tokens.</param>
    /// <exception cref="ArgumentException">The prompt is empty and no state that has read something was given.</exception>
    public string GenerateText(Tokenizer tokenizer, string prompt, GenerationOptions options, GenerationSession? state = null, CancellationToken cancellationToken = default) =>
        string.Concat(StreamText(tokenizer, prompt, options, state, cancellationToken));

    /// <summary>
    /// Decodes a stream of token ids as text, word by word. After each token the whole sequence so far is decoded
    /// again (so byte-level BPE joins the bytes of a character split across tokens), and the text up to its last
    /// whitespace, which later tokens can no longer change, is yielded; what follows it is held back until a
    /// whitespace follows it too, or the tokens end. The pieces concatenate to
    /// <c>tokenizer.Decode(tokens)</c> for tokenizers whose decoding of a sequence extends that of its prefixes up to
    /// the last whitespace (byte-level BPE, word-level vocabularies). Decoding again costs time linear in the text so far per token.
    /// </summary>
    /// <param name="tokenizer">Decodes the ids.</param>
    /// <param name="tokens">The ids, for example from <see cref="Generate"/>; read lazily, one at a time.</param>
    /// <returns>Pieces of text, each a whole word with the whitespace after it, the last one what remains.</returns>
    public static IEnumerable<string> DecodeByWords(Tokenizer tokenizer, IEnumerable<int> tokens)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(tokens);
        return DecodeByWordsIterator(tokenizer, tokens);
    }

    private static IEnumerable<string> DecodeByWordsIterator(Tokenizer tokenizer, IEnumerable<int> tokens)
    {
        var ids = new List<int>();
        string text = string.Empty;
        int yielded = 0;
        foreach (int token in tokens)
        {
            ids.Add(token);
            text = tokenizer.Decode(ids) ?? string.Empty;
            int stable = yielded;
            for (int i = text.Length - 1; i >= yielded; i--)
            {
                if (char.IsWhiteSpace(text[i]))
                {
                    stable = i + 1;
                    break;
                }
            }

            if (stable > yielded)
            {
                yield return text[yielded..stable];
                yielded = stable;
            }
        }

        if (text.Length > yielded)
        {
            yield return text[yielded..];
        }
    }

    private IEnumerable<int> GenerateIterator(IReadOnlyList<int> prompt, GenerationOptions options, GenerationSession? session, CancellationToken cancellationToken)
    {
        bool ownsSession = session is null;
        session ??= new GenerationSession(_model);
        bool wasTraining = _model.training;
        _model.eval();
        try
        {
            foreach (int token in prompt)
            {
                session.Feed(token);
            }

            var sampler = new TokenSampler(options);
            int longestStop = options.StopSequences.Count == 0 ? 0 : options.StopSequences.Max(s => s.Length);
            var pending = new List<int>();
            for (int produced = 0; produced < options.MaxNewTokens; produced++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                int next = sampler.Next(session.LastLogits!);
                session.Feed(next);
                pending.Add(next);
                if (options.StopSequences.Any(stop => EndsWith(pending, stop)))
                {
                    yield break;
                }

                // Release the tokens that can no longer be the start of a stop sequence.
                int keep = HeldBack(pending, options.StopSequences, longestStop);
                for (int i = 0; i < pending.Count - keep; i++)
                {
                    yield return pending[i];
                }

                pending.RemoveRange(0, pending.Count - keep);
            }

            foreach (int token in pending)
            {
                yield return token;
            }
        }
        finally
        {
            _model.train(wasTraining);
            if (ownsSession)
            {
                session.Dispose();
            }
        }
    }

    private static bool EndsWith(List<int> tokens, int[] suffix)
    {
        if (tokens.Count < suffix.Length)
        {
            return false;
        }

        int offset = tokens.Count - suffix.Length;
        for (int i = 0; i < suffix.Length; i++)
        {
            if (tokens[offset + i] != suffix[i])
            {
                return false;
            }
        }

        return true;
    }

    // Length of the longest tail of `tokens` that is a proper prefix of some stop sequence.
    private static int HeldBack(List<int> tokens, IList<int[]> stops, int longestStop)
    {
        for (int length = Math.Min(tokens.Count, longestStop - 1); length > 0; length--)
        {
            int offset = tokens.Count - length;
            foreach (int[] stop in stops)
            {
                if (stop.Length <= length)
                {
                    continue;
                }

                bool match = true;
                for (int i = 0; i < length && match; i++)
                {
                    match = tokens[offset + i] == stop[i];
                }

                if (match)
                {
                    return length;
                }
            }
        }

        return 0;
    }
}
