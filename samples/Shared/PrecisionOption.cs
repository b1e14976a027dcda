using System.CommandLine;
using System.CommandLine.Parsing;
using NewLlm.Training;

/// <summary><c>--precision fp32|bf16-mixed</c> and <c>--allow-slow-bf16</c>: the training samples' <see cref="TrainerOptions.Precision"/>.</summary>
internal static class PrecisionOption
{
    private static readonly (string Name, TrainingPrecision Value)[] Names = [("fp32", TrainingPrecision.Float32), ("bf16-mixed", TrainingPrecision.BFloat16Mixed)];

    /// <summary>The <c>--precision</c> option (default fp32).</summary>
    public static Option<TrainingPrecision> Create() => new("--precision")
    {
        Description = "fp32, or bf16-mixed: matrix products in bfloat16 with float32 weights and states (about 1.5x faster on a CPU with avx512_bf16; validation stays float32). A resumed run keeps its checkpoint's.",
        DefaultValueFactory = _ => TrainingPrecision.Float32,
        CustomParser = Parse,
    };

    /// <summary>The <c>--allow-slow-bf16</c> flag.</summary>
    public static Option<bool> CreateAllowSlow() => new("--allow-slow-bf16")
    {
        Description = "Run --precision bf16-mixed even on a CPU without native bfloat16 (avx512_bf16/amx_bf16), where it is many times slower than fp32.",
    };

    /// <summary>The command-line name of a precision.</summary>
    public static string NameOf(TrainingPrecision precision) => Names.First(n => n.Value == precision).Name;

    /// <summary>A precision from a checkpoint's recorded options (the enum's name), or null when absent or unknown.</summary>
    public static TrainingPrecision? FromCheckpoint(string? saved) => Enum.TryParse(saved, out TrainingPrecision value) && Enum.IsDefined(value) ? value : null;

    private static TrainingPrecision Parse(ArgumentResult result)
    {
        string text = result.Tokens.Count == 1 ? result.Tokens[0].Value.Trim() : string.Empty;
        foreach ((string name, TrainingPrecision value) in Names)
        {
            if (string.Equals(text, name, StringComparison.OrdinalIgnoreCase))
            {
                return value;
            }
        }

        result.AddError($"--precision takes {string.Join(" or ", Names.Select(n => n.Name))}, not '{text}'.");
        return default;
    }
}
