using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.ML.Tokenizers;

namespace NewLlm;

/// <summary>
/// Streams tokens from any <see cref="IIncrementalDecoder"/> (a <see cref="NewLlmModel"/>, a
/// <see cref="TransformerBaselineModel"/>), with its inference function (no dropout, no gradient) whatever the module's
/// mode, which it leaves as it is: sampling, stop sequences and strings, text streamed word by word, sessions continued.
/// A New-LLM carries only its context vector (constant memory per token); the baseline its key/value cache, which grows
/// by one position per token up to its MaxSeqLength: generation stops there cleanly, with what was generated and
/// <see cref="GenerationStopReason.PositionLimit"/> as the session's <see cref="GenerationSession.StopReason"/> (the last
/// token, which no later token is predicted from, needs no position), and a prompt the positions cannot hold is refused
/// before anything is read. <see cref="NewLlmGenerator"/> is this generator for a New-LLM.
/// </summary>
/// <param name="model">The model to generate with.</param>
public sealed class IncrementalGenerator(IIncrementalDecoder model)
{
    private readonly IIncrementalDecoder _model = model ?? throw new ArgumentNullException(nameof(model));

    /// <summary>
    /// Reads <paramref name="prompt"/> from <paramref name="state"/> (or from a zero state) and yields generated
    /// token ids one by one. When a state is given it is advanced in place through the prompt and every yielded
    /// token, so a conversation can continue from it.
    /// </summary>
    /// <param name="prompt">Token ids to read first; at least one unless a state is given that already read something.</param>
    /// <param name="options">
    /// Sampling options (validated). Ids know no tokenizer: generation ends at an end-of-sequence token only when
    /// <see cref="GenerationOptions.EndOfSequenceId"/> names it, and <see cref="GenerationOptions.StopStrings"/> are
    /// refused (use <see cref="StreamText"/> or <see cref="GenerateText"/>).
    /// </param>
    /// <param name="state">Optional state to continue from and update; a fresh zero state when null.</param>
    /// <param name="cancellationToken">Stops generation between tokens.</param>
    /// <exception cref="ArgumentException">The prompt is empty and no state that has read something was given, the prompt does not fit in the model's positions (with what the state has read), or stop strings were given.</exception>
    public IEnumerable<int> Generate(IReadOnlyList<int> prompt, GenerationOptions options, GenerationSession? state = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (options.StopStrings.Count > 0)
        {
            throw new ArgumentException("GenerationOptions.StopStrings are matched on the decoded text, which Generate (token ids) does not have: use StreamText or GenerateText with the tokenizer, or StopSequences of token ids.", nameof(options));
        }

        CheckPrompt(prompt.Count, state, nameof(prompt));
        CheckPositions(prompt.Count, state, nameof(prompt));
        return GenerateIterator(prompt, options, options.StopAtEndOfSequence ? options.EndOfSequenceId : null, state, cancellationToken);
    }

    /// <summary>
    /// Text in, text out: encodes <paramref name="prompt"/>, generates as <see cref="Generate"/> does, and yields the
    /// continuation word by word (<see cref="DecodeByWords"/>), never a character split across tokens broken.
    /// </summary>
    /// <param name="tokenizer">The model's tokenizer (for a NewLlm.Data <c>DialogueTokenizer</c>, its <c>Tokenizer</c>).</param>
    /// <param name="prompt">Text to read first; may be empty only when <paramref name="state"/> has already read something.</param>
    /// <param name="options">
    /// Sampling options (validated). Generation ends at the end-of-sequence token, a stop sequence or a
    /// <see cref="GenerationOptions.StopStrings">stop string</see>, none of them part of the text.
    /// </param>
    /// <param name="state">Optional state to continue from and update; a fresh zero state when null.</param>
    /// <param name="cancellationToken">Stops generation between tokens.</param>
    /// <returns>Pieces of text, each a whole word with the whitespace after it, the last one what remains.</returns>
    /// <exception cref="ArgumentException">The prompt is empty and no state that has read something was given, the prompt does not fit in the model's positions (with what the state has read), or no end-of-sequence token can be found when one is needed.</exception>
    public IEnumerable<string> StreamText(Tokenizer tokenizer, string prompt, GenerationOptions options, GenerationSession? state = null, CancellationToken cancellationToken = default) =>
        TextPieces(tokenizer, prompt, options, state)(cancellationToken);

    /// <summary>
    /// <see cref="StreamText"/> for <c>await foreach</c>: the same pieces, each computed on a thread-pool thread so that
    /// the awaiting thread (a UI's, a request's) is never blocked while a token is generated.
    /// </summary>
    /// <param name="tokenizer">The model's tokenizer (for a NewLlm.Data <c>DialogueTokenizer</c>, its <c>Tokenizer</c>).</param>
    /// <param name="prompt">Text to read first; may be empty only when <paramref name="state"/> has already read something.</param>
    /// <param name="options">Sampling options (validated); they end generation as <see cref="StreamText"/>'s do.</param>
    /// <param name="state">Optional state to continue from and update; a fresh zero state when null.</param>
    /// <param name="cancellationToken">Stops generation between tokens (also when given through <c>WithCancellation</c>).</param>
    /// <returns>Pieces of text, as <see cref="StreamText"/> yields them.</returns>
    /// <exception cref="ArgumentException">As <see cref="StreamText"/>.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled (thrown while enumerating).</exception>
    public IAsyncEnumerable<string> StreamTextAsync(Tokenizer tokenizer, string prompt, GenerationOptions options, GenerationSession? state = null, CancellationToken cancellationToken = default) =>
        OnThreadPool(TextPieces(tokenizer, prompt, options, state), cancellationToken);

    /// <summary>Text in, text out, in one call: the concatenation of what <see cref="StreamText"/> yields.</summary>
    /// <param name="tokenizer">The model's tokenizer (for a NewLlm.Data <c>DialogueTokenizer</c>, its <c>Tokenizer</c>).</param>
    /// <param name="prompt">Text to read first; may be empty only when <paramref name="state"/> has already read something.</param>
    /// <param name="options">Sampling options (validated); they end generation as <see cref="StreamText"/>'s do.</param>
    /// <param name="state">Optional state to continue from and update; a fresh zero state when null.</param>
    /// <param name="cancellationToken">Stops generation between tokens.</param>
    /// <exception cref="ArgumentException">As <see cref="StreamText"/>.</exception>
    public string GenerateText(Tokenizer tokenizer, string prompt, GenerationOptions options, GenerationSession? state = null, CancellationToken cancellationToken = default) =>
        string.Concat(StreamText(tokenizer, prompt, options, state, cancellationToken));

    /// <summary>
    /// Decodes a stream of token ids as text, word by word: after each token the whole sequence is decoded again (so
    /// byte-level BPE joins a character split across tokens) and the text up to its last whitespace, which later tokens
    /// cannot change, is yielded. The pieces concatenate to <c>tokenizer.Decode(tokens)</c> for tokenizers whose decoding
    /// extends that of prefixes up to the last whitespace (byte-level BPE, word-level vocabularies).
    /// </summary>
    /// <param name="tokenizer">Decodes the ids.</param>
    /// <param name="tokens">The ids, for example from <see cref="Generate"/>; read lazily, one at a time.</param>
    /// <returns>Pieces of text, each a whole word with the whitespace after it, the last one what remains.</returns>
    public static IEnumerable<string> DecodeByWords(Tokenizer tokenizer, IEnumerable<int> tokens)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(tokens);
        return DecodeIterator(tokenizer, tokens, [], session: null);
    }

    // StreamText's checks, made when called; the pieces are generated when enumerated, stopped by the given token.
    private Func<CancellationToken, IEnumerable<string>> TextPieces(Tokenizer tokenizer, string prompt, GenerationOptions options, GenerationSession? state)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(prompt);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        CheckPrompt(prompt.Length, state, nameof(prompt));
        int? endOfSequence = !options.StopAtEndOfSequence ? null
            : options.EndOfSequenceId ?? EndOfSequenceToken.Find(tokenizer, _model.VocabSize)
                ?? throw new ArgumentException(
                    $"GenerationOptions.StopAtEndOfSequence is set, but no EndOfSequenceId is given and the tokenizer ({tokenizer.GetType().Name}) has no end-of-sequence token that can be found: set EndOfSequenceId (a DialogueTokenizer's EosId), or StopAtEndOfSequence = false to generate up to MaxNewTokens.",
                    nameof(options));
        IReadOnlyList<int> ids = prompt.Length == 0 ? [] : tokenizer.EncodeToIds(prompt);
        CheckPositions(ids.Count, state, nameof(prompt));
        string[] stopStrings = [.. options.StopStrings];
        return token => DecodeIterator(tokenizer, GenerateIterator(ids, options, endOfSequence, state, token), stopStrings, state);
    }

    // The token is StreamTextAsync's argument joined with WithCancellation's, so either stops generation between tokens.
    private static async IAsyncEnumerable<string> OnThreadPool(Func<CancellationToken, IEnumerable<string>> pieces, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using IEnumerator<string> enumerator = pieces(cancellationToken).GetEnumerator();
        while (await Task.Run(enumerator.MoveNext, cancellationToken).ConfigureAwait(false))
        {
            yield return enumerator.Current;
        }
    }

    private static void CheckPrompt(int promptLength, GenerationSession? state, string paramName)
    {
        if (promptLength == 0 && state?.LastLogits is null)
        {
            throw new ArgumentException("The prompt is empty and no state with a previous token was given: there is nothing to continue from.", paramName);
        }
    }

    // A prompt the model's positions cannot hold, after what the session has read, is refused before anything is read.
    private void CheckPositions(int promptTokens, GenerationSession? state, string paramName)
    {
        if (state?.LastTokenUnread == true)
        {
            throw new ArgumentException($"The session has used all the model's {state.State.MaxLength} positions (its last generation stopped there, its last token unread): start a new GenerationSession.", paramName);
        }

        using IDecodingState? probe = state is null ? _model.StartDecoding(1) : null; // allocates nothing until it reads
        IDecodingState decoding = state?.State ?? probe!;
        if (decoding.MaxLength is long positions && decoding.Length + promptTokens > positions)
        {
            string read = decoding.Length == 0 ? string.Empty : $" after the {decoding.Length} the session has read";
            throw new ArgumentException($"The prompt has {promptTokens} tokens{read}, the model {positions} positions (a TransformerBaselineModel's MaxSeqLength): shorten the prompt, start a new GenerationSession, or use a model with more positions.", paramName);
        }
    }

    // DecodeByWords, and with stop strings: the text ends before the first one, and a tail that might begin one is held back.
    private static IEnumerable<string> DecodeIterator(Tokenizer tokenizer, IEnumerable<int> tokens, string[] stopStrings, GenerationSession? session)
    {
        var ids = new List<int>();
        string text = string.Empty;
        int yielded = 0;
        foreach (int token in tokens)
        {
            ids.Add(token);
            text = tokenizer.Decode(ids) ?? string.Empty;
            int stop = FirstStopString(text, yielded, stopStrings);
            if (stop >= 0)
            {
                // Leaving the loop disposes the token iterator, which ends generation.
                if (session is not null)
                {
                    session.StopReason = GenerationStopReason.StopString;
                }

                if (stop > yielded)
                {
                    yield return text[yielded..stop];
                }

                yield break;
            }

            int stable = yielded;
            for (int i = text.Length - 1; i >= yielded; i--)
            {
                if (char.IsWhiteSpace(text[i]))
                {
                    stable = i + 1;
                    break;
                }
            }

            stable = Math.Min(stable, text.Length - PossibleStopStringStart(text, yielded, stopStrings));
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

    // Where the first stop string begins in text[from..], or -1.
    private static int FirstStopString(string text, int from, string[] stopStrings) =>
        stopStrings.Select(stop => text.IndexOf(stop, from, StringComparison.OrdinalIgnoreCase)).Where(at => at >= 0).DefaultIfEmpty(-1).Min();

    // Length of the longest tail of text[from..] that is a proper prefix of some stop string.
    private static int PossibleStopStringStart(string text, int from, string[] stopStrings)
    {
        int longest = 0;
        foreach (string stop in stopStrings)
        {
            for (int length = Math.Min(text.Length - from, stop.Length - 1); length > longest; length--)
            {
                if (text.AsSpan(text.Length - length).Equals(stop.AsSpan(0, length), StringComparison.OrdinalIgnoreCase))
                {
                    longest = length;
                    break;
                }
            }
        }

        return longest;
    }

    private IEnumerable<int> GenerateIterator(IReadOnlyList<int> prompt, GenerationOptions options, int? endOfSequence, GenerationSession? session, CancellationToken cancellationToken)
    {
        bool ownsSession = session is null;
        session ??= new GenerationSession(_model);
        session.StopReason = null;
        session.LastTokenUnread = false;
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

                // A token is read only for the one after it; at the model's last position nothing follows, so it is not.
                session.LastTokenUnread = session.State.MaxLength is long positions && session.State.Length >= positions;
                if (!session.LastTokenUnread)
                {
                    session.Feed(next);
                }

                pending.Add(next);
                if (options.StopSequences.Any(stop => CollectionsMarshal.AsSpan(pending).EndsWith(stop)))
                {
                    session.StopReason = GenerationStopReason.StopSequence;
                    yield break;
                }

                if (next == endOfSequence)
                {
                    // The tokens held back for a stop sequence are output after all; the end-of-sequence token is not.
                    for (int i = 0; i < pending.Count - 1; i++)
                    {
                        yield return pending[i];
                    }

                    session.StopReason = GenerationStopReason.EndOfSequence;
                    yield break;
                }

                // Release the tokens that can no longer be the start of a stop sequence.
                int keep = HeldBack(pending, options.StopSequences, longestStop);
                for (int i = 0; i < pending.Count - keep; i++)
                {
                    yield return pending[i];
                }

                pending.RemoveRange(0, pending.Count - keep);
                if (session.LastTokenUnread)
                {
                    break;
                }
            }

            foreach (int token in pending)
            {
                yield return token;
            }

            session.StopReason = session.LastTokenUnread ? GenerationStopReason.PositionLimit : GenerationStopReason.MaxNewTokens;
        }
        finally
        {
            if (ownsSession)
            {
                session.Dispose();
            }
        }
    }

    // Length of the longest tail of `tokens` that is a proper prefix of some stop sequence.
    private static int HeldBack(List<int> tokens, IList<int[]> stops, int longestStop)
    {
        ReadOnlySpan<int> pending = CollectionsMarshal.AsSpan(tokens);
        for (int length = Math.Min(tokens.Count, longestStop - 1); length > 0; length--)
        {
            foreach (int[] stop in stops)
            {
                if (stop.Length > length && pending[^length..].SequenceEqual(stop.AsSpan(0, length)))
                {
                    return length;
                }
            }
        }

        return 0;
    }
}
