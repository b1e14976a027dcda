using System.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;
using NewLlm.Testing;

namespace NewLlm.Benchmarks;

/// <summary>
/// One training step exactly as the reference's <c>bench</c> command: zero_grad, forward in training mode,
/// next-token cross-entropy with PAD id 0 ignored, backward, clip_grad_norm 1.0, Adam lr 8e-4.
/// </summary>
internal static class TrainingStepBenchmark
{
    public const double LearningRate = 8e-4;
    public const double ClipNorm = 1.0;

    /// <summary>The loss of one implementation: the library's chunked loss, or a forward's whole logits and <c>F.cross_entropy</c>.</summary>
    public static Func<Tensor, Tensor, Tensor> LossOf(string implementation, NewLlmModel model, bool allowSlowBFloat16 = false) => implementation switch
    {
        "newllm-torchsharp" => (x, y) => model.NextTokenLoss(x, y, 0).Loss,
        "newllm-bf16" => BFloat16Mixed(model, allowSlowBFloat16),
        "newllm-full-logits" => (x, y) => CrossEntropy(model.call(x), y),
        "direct-port-torchsharp" => (x, y) => CrossEntropy(DirectPortModel.Forward(model, model.Options.Dropout, x), y),
        _ => throw new ArgumentOutOfRangeException(nameof(implementation), implementation, "not an implementation of this benchmark"),
    };

    /// <summary>The library's chunked loss with bfloat16 mixed precision (<see cref="NewLlmModel.ComputeDType"/>); refused on a CPU without native bfloat16 unless <paramref name="allowSlow"/>.</summary>
    private static Func<Tensor, Tensor, Tensor> BFloat16Mixed(NewLlmModel model, bool allowSlow)
    {
        if (!allowSlow)
        {
            TorchBackend.EnsureFastBFloat16(model.Device, "the newllm-bf16 benchmark", "pass --skip-bf16, or --allow-slow-bf16 to measure it anyway");
        }

        model.ComputeDType = ScalarType.BFloat16;
        return (x, y) => model.NextTokenLoss(x, y, 0).Loss;
    }

    /// <summary>Runs one warm-up step and <paramref name="steps"/> timed steps; returns seconds and minor page faults per timed step.</summary>
    /// <param name="model">The model (its parameters are trained; put in training mode here).</param>
    /// <param name="loss">The loss to time: inputs [B, T-1] and targets [B, T-1] -> the mean loss.</param>
    /// <param name="batch">Batch size.</param>
    /// <param name="seq">Sequence length including the target shift.</param>
    /// <param name="steps">Timed steps.</param>
    /// <param name="seed">Seed of the ids.</param>
    public static StepTimes Measure(NewLlmModel model, Func<Tensor, Tensor, Tensor> loss, int batch, int seq, int steps, long seed = 1)
    {
        int vocab = model.Options.VocabSize;
        using var generator = new Generator((ulong)seed);
        using Tensor ids = randint(4, vocab, new long[] { batch, seq }, dtype: ScalarType.Int64, generator: generator);
        using Tensor x = ids.narrow(1, 0, seq - 1).contiguous();
        using Tensor y = ids.narrow(1, 1, seq - 1).contiguous();
        model.train();
        var parameters = model.parameters().ToList();
        using var adam = NewLlm.Training.OptimizerFactory.Create(model, new NewLlm.Training.TrainerOptions { LearningRate = LearningRate });   // the trainer's Adam

        var phases = new double[4];
        var clock = new Stopwatch();
        void Lap(int phase)
        {
            phases[phase] += clock.Elapsed.TotalSeconds;
            clock.Restart();
        }

        double Step()
        {
            using var scope = NewDisposeScope();
            clock.Restart();
            adam.zero_grad();
            Tensor value = loss(x, y);
            Lap(0);
            value.backward();
            Lap(1);
            nn.utils.clip_grad_norm_(parameters, ClipNorm);
            Lap(2);
            adam.step();
            Lap(3);
            return value.item<float>();
        }

        double first = Step();   // warm-up
        if (!double.IsFinite(first))
        {
            throw new InvalidOperationException($"The warm-up loss is {first}.");
        }

        Array.Clear(phases);
        long faults = ProcessUsage.MinorFaults;
        var watch = Stopwatch.StartNew();
        double fastest = double.MaxValue, leastCpu = double.MaxValue;
        using var process = Process.GetCurrentProcess();
        TimeSpan cpuStart = process.TotalProcessorTime;
        var minima = new double[phases.Length];
        Array.Fill(minima, double.MaxValue);
        for (int i = 0; i < steps; i++)
        {
            double start = watch.Elapsed.TotalSeconds;
            double[] before = (double[])phases.Clone();
            process.Refresh();
            TimeSpan cpuBefore = process.TotalProcessorTime;
            Step();
            fastest = Math.Min(fastest, watch.Elapsed.TotalSeconds - start);
            process.Refresh();
            leastCpu = Math.Min(leastCpu, (process.TotalProcessorTime - cpuBefore).TotalSeconds);
            for (int k = 0; k < phases.Length; k++)
            {
                minima[k] = Math.Min(minima[k], phases[k] - before[k]);
            }
        }

        process.Refresh();
        double cpu = (process.TotalProcessorTime - cpuStart).TotalSeconds / steps;
        return new StepTimes(watch.Elapsed.TotalSeconds / steps, (double)(ProcessUsage.MinorFaults - faults) / steps, phases[0] / steps, phases[1] / steps, phases[2] / steps, phases[3] / steps, fastest, minima[0], minima[1], cpu, leastCpu);
    }

    /// <summary>
    /// Seconds and minor page faults per timed step, and the seconds of its phases: the loss (forward), backward,
    /// gradient clipping and the optimizer; the fastest step, forward and backward; and the process's processor seconds
    /// (user and system, all threads) per step and in the step that took fewest. The fastest and processor figures are
    /// less disturbed by other processes on a shared machine than the wall-clock means.
    /// </summary>
    public readonly record struct StepTimes(
        double SecondsPerStep, double MinorFaultsPerStep, double Forward, double Backward, double Clip, double Optimizer, double FastestStep, double FastestForward, double FastestBackward, double CpuSecondsPerStep, double LeastCpuSeconds);

    private static Tensor CrossEntropy(Tensor logits, Tensor targets) =>
        F.cross_entropy(logits.reshape(-1, logits.shape[^1]), targets.reshape(-1), ignore_index: 0);
}
