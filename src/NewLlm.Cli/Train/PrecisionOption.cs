using System.CommandLine.Parsing;

namespace NewLlm.Cli;

/// <summary><c>--precision fp32|bf16-mixed</c>: newllm train's <see cref="TrainerOptions.Precision"/>.</summary>
internal static class PrecisionOption
{
    private static readonly (string Name, TrainingPrecision Value)[] Names = [("fp32", TrainingPrecision.Float32), ("bf16-mixed", TrainingPrecision.BFloat16Mixed)];

    /// <summary>The <c>--precision</c> option (default fp32), its value the canonical name (so that a resume's note reads <c>--precision bf16-mixed -> fp32</c>).</summary>
    public static Option<string> Create() => new("--precision")
    {
        Description = "fp32, or bf16-mixed: matrix products in bfloat16 with float32 weights and states (1.3x to 2.9x faster on a CPU with avx512_bf16, the more the larger the batch and vocabulary; validation stays float32). A resumed run keeps its checkpoint's.",
        HelpName = string.Join('|', Names.Select(n => n.Name)),
        DefaultValueFactory = _ => "fp32",
        CustomParser = Parse,
    };

    /// <summary>The precision a canonical name (the option's value) stands for.</summary>
    public static TrainingPrecision ToPrecision(string name) => Names.First(n => n.Name == name).Value;

    /// <summary>The canonical name of a checkpoint's recorded precision (the enum's name), or null when absent or unknown.</summary>
    public static string? FromCheckpoint(string? saved) =>
        Enum.TryParse(saved, out TrainingPrecision value) && Enum.IsDefined(value) ? Names.First(n => n.Value == value).Name : null;

    private static string Parse(ArgumentResult result)
    {
        string text = result.Tokens.Count == 1 ? result.Tokens[0].Value.Trim() : string.Empty;
        string? name = Names.Select(n => n.Name).FirstOrDefault(n => string.Equals(text, n, StringComparison.OrdinalIgnoreCase));
        if (name is null)
        {
            result.AddError($"--precision takes {string.Join(" or ", Names.Select(n => n.Name))}, not '{text}'.");
        }

        return name ?? string.Empty;
    }
}
