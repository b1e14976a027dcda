namespace NewLlm.Training;

/// <summary>One row of a curriculum's summary: a trained level.</summary>
/// <param name="Level">The 1-based level number.</param>
/// <param name="Name">The level's name (<see cref="CurriculumLevel.Name"/>).</param>
/// <param name="Dataset">The data set in prose (<see cref="DialogueDataset.DisplayName"/>).</param>
/// <param name="Layers">The model's layers.</param>
/// <param name="ContextSize">The model's context size.</param>
/// <param name="ValidationPerplexity">The best epoch's validation perplexity (that of the best checkpoint), or null when never validated.</param>
/// <param name="Accuracy">The best epoch's validation next-token accuracy, or null.</param>
/// <param name="ClearedPerplexity">The level's threshold.</param>
/// <param name="Cleared">Whether <paramref name="ValidationPerplexity"/> is below <paramref name="ClearedPerplexity"/>.</param>
/// <param name="Seconds">Training and validation time of the level (its epochs', resumed ones included).</param>
/// <param name="BestCheckpoint">The best checkpoint, from which the next level starts.</param>
/// <param name="EpochsRun">Epochs trained.</param>
/// <param name="Outcome">How the level's training ended.</param>
/// <param name="UnknownWordRate">The share of the training words the word-level vocabulary leaves unknown, or null (GPT-2).</param>
/// <param name="ValidationPerplexities">The validation perplexity of every validated epoch, in order (the curve across levels).</param>
public sealed record CurriculumLevelResult(
    int Level,
    string Name,
    string Dataset,
    int Layers,
    int ContextSize,
    double? ValidationPerplexity,
    double? Accuracy,
    double ClearedPerplexity,
    bool Cleared,
    double Seconds,
    string? BestCheckpoint,
    int EpochsRun,
    TrainingOutcome Outcome,
    double? UnknownWordRate,
    IReadOnlyList<double> ValidationPerplexities);
