namespace NewLlm.Training;

/// <summary>
/// One level of a curriculum (<see cref="CurriculumRecipe"/>): the data set it trains on and the model and training it
/// asks for. A level continues from the previous level's best checkpoint, made deeper (<see cref="NewLlmModel.AddLayers"/>)
/// or wider (<see cref="NewLlmModel.ExpandContext"/>) when it asks for more layers or a larger context; it is cleared when
/// its best validation perplexity is below <see cref="ClearedPerplexity"/>.
/// </summary>
public sealed record CurriculumLevel
{
    /// <summary>The data set's name as <see cref="DialogueDataset.Parse"/> reads it (<c>dolly</c>, <c>hh-rlhf</c>, <c>ultrachat</c>, <c>codealpaca</c>, <c>math</c>, …); also the level's folder name.</summary>
    public required string Name { get; init; }

    /// <summary>The HH-RLHF subset (<c>helpful</c>, <c>harmless</c>, …), or null for the default (or a set without subsets).</summary>
    public string? Subset { get; init; }

    /// <summary>Feed-forward layers of the level's model (default 1); never fewer than the previous level's.</summary>
    public int Layers { get; init; } = 1;

    /// <summary>Size of the context vector (default 256); never smaller than the previous level's.</summary>
    public int ContextSize { get; init; } = 256;

    /// <summary>Tokens per dialogue (default 128).</summary>
    public int MaxSequenceLength { get; init; } = 128;

    /// <summary>Epochs (default 100), unless <see cref="CurriculumOptions.Epochs"/> overrides every level's.</summary>
    public int Epochs { get; init; } = 100;

    /// <summary>Epochs without improvement before the level stops early; 0 turns it off (default 20, <see cref="TrainerOptions.EarlyStoppingPatience"/>'s).</summary>
    public int EarlyStoppingPatience { get; init; } = 20;

    /// <summary>The validation perplexity below which the level is cleared (the original's plan: 17 for Dolly, 21 for HH-RLHF, …).</summary>
    public double ClearedPerplexity { get; init; }

    /// <summary>Train on the first N dialogues (and N/10 test ones), or null for all, unless <see cref="CurriculumOptions.MaxSamples"/> overrides it.</summary>
    public int? MaxSamples { get; init; }

    /// <summary>For the <c>math</c> level: the problem levels to keep, comma-separated (<c>1,2</c>), or null for all (<see cref="MathFormat.Parse"/>).</summary>
    public string? MathLevels { get; init; }

    /// <summary>For the <c>math</c> level: the problem types to keep, comma-separated (<c>algebra,prealgebra</c>), or null for all.</summary>
    public string? MathTypes { get; init; }

    /// <summary>The level's data set: its name and subset (<paramref name="subset"/> when given) and, for MATH, its filter.</summary>
    /// <exception cref="FormatException">The name, the subset or the filter is not one the data set has.</exception>
    internal DialogueDataset Dataset(string? subset = null)
    {
        DialogueDataset set = DialogueDataset.Parse(Name, subset ?? Subset);
        if (MathLevels is null && MathTypes is null)
        {
            return set;
        }

        return set.Name == "math"
            ? DialogueDataset.Math(MathFormat.Parse(MathLevels, MathTypes))
            : throw new FormatException($"math_levels and math_types filter the math level's problems; {set.DisplayName} has no such fields.");
    }
}
