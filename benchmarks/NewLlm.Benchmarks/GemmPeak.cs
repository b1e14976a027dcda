using System.Diagnostics;
using System.Text.Json.Nodes;
using TorchSharp;
using static TorchSharp.torch;

namespace NewLlm.Benchmarks;

/// <summary>
/// This machine's matrix-product rate at the shapes one training step runs, in float32 and bfloat16: the yardstick
/// that a step's achieved FLOP/s (<see cref="StepFlops"/>) is reported against, so that a figure from any CPU says how
/// close it is to that CPU's own limit.
/// </summary>
/// <remarks>
/// Two kinds of product, each run as the step runs it:
/// <list type="bullet">
/// <item>the recurrence's per-position products, [rows, K] by [K, N] with rows = batch / threads, one per row thread,
/// all threads at once, each with libtorch's intra-op parallelism off (as <c>RowParallel</c> runs them);</item>
/// <item>the output layer's chunk products, [chunk, H] by [H, V] and its two backward products, on libtorch's intra-op
/// threads.</item>
/// </list>
/// The peak of a dtype is the best rate among its shapes. Each product writes into a kept result (<c>addmm_</c> with
/// beta 0), so no fresh memory is timed; each shape runs for about <see cref="SecondsPerShape"/> after one warm-up.
/// </remarks>
internal static class GemmPeak
{
    private const double SecondsPerShape = 0.4;

    /// <summary>Measures every shape of a step of <paramref name="options"/> at <paramref name="batch"/> x <paramref name="seq"/> in both dtypes; one JSON object per dtype with each shape's GFLOP/s and the best.</summary>
    public static JsonObject Measure(NewLlmOptions options, int batch, int seq, int threads, bool bfloat16)
    {
        long rows = (batch + threads - 1) / threads;
        long h = options.HiddenDim, c = options.ContextDim, v = options.VocabSize;
        long chunk = NewLlmLoss.ChunkPositions((long)batch * (seq - 1), v, 4);
        var perThread = new List<(string Name, long M, long K, long N)> { ("context_in", rows, c, h), ("heads", rows, h, 3 * c) };
        if (options.NumLayers > 1)
        {
            perThread.Add(("layer", rows, h, h));
        }

        var whole = new List<(string Name, long M, long K, long N)> { ("output", chunk, h, v), ("output_dhidden", chunk, v, h), ("output_dweight", v, chunk, h) };
        var result = new JsonObject();
        foreach (ScalarType dtype in bfloat16 ? new[] { ScalarType.Float32, ScalarType.BFloat16 } : new[] { ScalarType.Float32 })
        {
            var shapes = new JsonObject();
            double best = 0;
            foreach ((string name, long m, long k, long n) in perThread)
            {
                double rate = RowThreads(m, k, n, dtype, threads);
                shapes[$"{name} {m}x{k}x{n} x{threads} threads"] = Math.Round(rate, 1);
                best = Math.Max(best, rate);
            }

            foreach ((string name, long m, long k, long n) in whole)
            {
                double rate = Rate(m, k, n, dtype, 1);
                shapes[$"{name} {m}x{k}x{n}"] = Math.Round(rate, 1);
                best = Math.Max(best, rate);
            }

            result[dtype == ScalarType.BFloat16 ? "bf16" : "fp32"] = new JsonObject { ["peak_gflops"] = Math.Round(best, 1), ["shapes_gflops"] = shapes };
        }

        return result;
    }

    /// <summary>
    /// The floating-point operations of the matrix products one training step of <paramref name="tokens"/> trained
    /// positions executes, forward (2 per multiply-add) and backward (4): per position the context's share of the
    /// first layer, the deeper layers, the gate heads and the output layer; and the embedding's share of the first layer
    /// once per vocabulary entry, or per position when the vocabulary has more entries than the batch has positions
    /// (as <see cref="NewLlmModel"/> runs it). Element-wise work is not counted.
    /// </summary>
    public static double StepFlops(NewLlmOptions options, long tokens)
    {
        double h = options.HiddenDim, c = options.ContextDim;
        double perPosition = (c * h) + ((options.NumLayers - 1) * h * h) + (h * 3 * c) + (h * options.VocabSize);
        double embeddingRows = Math.Min(options.VocabSize, tokens);
        return 6 * ((perPosition * tokens) + (embeddingRows * options.EmbedDim * h));
    }

    // One product at a time on libtorch's intra-op threads (the caller's setting); GFLOP/s.
    private static double Rate(long m, long k, long n, ScalarType dtype, int copies)
    {
        using var scope = NewDisposeScope();
        Tensor a = randn(m, k).to_type(dtype), b = randn(k, n).to_type(dtype), target = empty(m, n, dtype: dtype);
        target.addmm_(a, b, beta: 0);
        int reps = 0;
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed.TotalSeconds < SecondsPerShape)
        {
            target.addmm_(a, b, beta: 0);
            reps++;
        }

        return 2.0 * m * k * n * reps * copies / watch.Elapsed.TotalSeconds / 1e9;
    }

    // The same product on each of `threads` threads at once, intra-op parallelism off (as the recurrence's row threads); GFLOP/s of all together.
    private static double RowThreads(long m, long k, long n, ScalarType dtype, int threads)
    {
        int before = torch.get_num_threads();
        torch.set_num_threads(1);
        try
        {
            var rates = new double[threads];
            Thread[] workers = Enumerable.Range(0, threads).Select(i => new Thread(() => rates[i] = Rate(m, k, n, dtype, 1))).ToArray();
            foreach (Thread worker in workers)
            {
                worker.Start();
            }

            foreach (Thread worker in workers)
            {
                worker.Join();
            }

            return rates.Sum();
        }
        finally
        {
            torch.set_num_threads(before);
        }
    }
}
