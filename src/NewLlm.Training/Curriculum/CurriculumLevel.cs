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
}
