using NewLlm;
using TorchSharp;

namespace NewLlm.Cli;

/// <summary>What newllm train checks before any data is prepared: the device, the output folder, the memory a step needs.</summary>
internal static class RunChecks
{
    /// <summary>Loads the TorchSharp backend and gives torch <paramref name="threads"/> CPU threads (<c>--threads</c>).</summary>
    /// <param name="threads">The threads, at least 1.</param>
    public static void LoadTorch(int threads)
    {
        TorchBackend.EnsureLoaded();
        if (threads < 1)
        {
            throw new ArgumentException($"--threads must be at least 1, not {threads}.");
        }

        torch.set_num_threads(threads);
    }

    /// <summary>Refuses a device that is absent, bf16 on a CPU without it, an output folder that cannot be used, and a step that does not fit in memory.</summary>
    /// <param name="options">The run's options.</param>
    /// <param name="resumePath">The checkpoint the run continues, or <see langword="null"/>.</param>
    /// <param name="model">The sizes of the model to train.</param>
    /// <param name="sequenceLength">Tokens per row.</param>
    public static void BeforeData(TrainerOptions options, string? resumePath, NewLlmOptions model, int sequenceLength)
    {
        if (options.Device != "cpu" && !torch.cuda.is_available())
        {
            throw new ArgumentException($"--device {options.Device}: CUDA is not available here (newllm uses the CPU backend TorchSharp-cpu). Use --device cpu, or train on a GPU from code with a CUDA backend of TorchSharp.");
        }

        torch.Device device = DeviceName.Resolve(options.Device); // an out-of-range cuda:N fails here, before loading data
        if (options.Precision == TrainingPrecision.BFloat16Mixed && !options.AllowSlowBFloat16)
        {
            TorchBackend.EnsureFastBFloat16(device, "--precision bf16-mixed", "pass --allow-slow-bf16");
        }

        OutputFolder.Check(options, resumePath);
        if (TrainingMemoryEstimate.ForStep(model, options.BatchSize, sequenceLength, precision: options.Precision).CheckFits(options.Device) is string tooLarge)
        {
            throw new InsufficientMemoryException(tooLarge);
        }
    }
}
