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
