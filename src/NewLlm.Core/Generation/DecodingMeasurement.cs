using System.Diagnostics;

namespace NewLlm;

/// <summary>
/// Generation measured on a model through <see cref="IIncrementalDecoder"/>: greedy decoding from a one-token prompt,
/// its speed, and the state it leaves (whose <see cref="IDecodingState.SizeInBytes"/> is the memory a generation holds:
/// New-LLM's context vectors stay the same size, a Transformer's key/value cache grows by one position per token).
/// Used by <c>newllm compare</c> and the benchmark's generation mode. Weights do not change these figures, only shapes.
/// </summary>
public static class DecodingMeasurement
{
    /// <summary>
    /// Decodes greedily (each next token the most likely) from the token id <paramref name="firstId"/> until each of
    /// <paramref name="batchSize"/> sequences has read <paramref name="length"/> tokens, and returns the state (the caller disposes it).
    /// </summary>
    /// <param name="model">The model.</param>
    /// <param name="batchSize">Sequences decoded together.</param>
    /// <param name="length">Tokens each sequence reads, the prompt's one included; at most the model's longest sequence.</param>
    /// <param name="firstId">The prompt's token id (default 4, the first id after the special tokens of this library's tokenizers).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="batchSize"/> or <paramref name="length"/> is not positive.</exception>
    public static IDecodingState DecodeGreedily(IIncrementalDecoder model, int batchSize, int length, long firstId = 4)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        IDecodingState state = model.StartDecoding(batchSize);
        using Scalar first = firstId.ToScalar();
        Tensor next = full(batchSize, 1, first, dtype: ScalarType.Int64, device: model.Device);
        try
        {
            while (true)
            {
                using var scope = NewDisposeScope();
                Tensor logits = model.DecodeNext(next, state);
                if (state.Length >= length)
                {
                    return state;
                }

                next.Dispose();
                next = logits.argmax(1, keepdim: true).DetachFromDisposeScope();
            }
        }
        catch
        {
            state.Dispose();
            throw;
        }
        finally
        {
            next.Dispose();
        }
    }

    /// <summary>
    /// Generated tokens per second (all sequences together) of greedy decoding at <paramref name="batchSize"/>, over
    /// <paramref name="length"/> tokens per sequence: after one warm-up decoding of 8 tokens, <paramref name="rounds"/>
    /// decodings are timed, each from a fresh state, and the median time is taken (one slow round on a busy machine does
    /// not move it).
    /// </summary>
    /// <param name="model">The model.</param>
    /// <param name="batchSize">Sequences decoded together.</param>
    /// <param name="length">Tokens per sequence (the time per token of a Transformer grows with it).</param>
    /// <param name="rounds">Timed decodings (default 5, as the benchmark's generation mode).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="rounds"/> is not positive.</exception>
    public static double TokensPerSecond(IIncrementalDecoder model, int batchSize, int length, int rounds = 5)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rounds);
        using (DecodeGreedily(model, batchSize, Math.Min(8, length)))
        {
        }

        var seconds = new double[rounds];
        for (int round = 0; round < rounds; round++)
        {
            long start = Stopwatch.GetTimestamp();
            using (DecodeGreedily(model, batchSize, length))
            {
                seconds[round] = Stopwatch.GetElapsedTime(start).TotalSeconds;
            }
        }

        Array.Sort(seconds);
        double median = rounds % 2 == 1 ? seconds[rounds / 2] : (seconds[(rounds / 2) - 1] + seconds[rounds / 2]) / 2;
        return (double)batchSize * length / median;
    }
}
