namespace NewLlm.Training;

/// <summary>What a curriculum does after a level whose best validation perplexity misses its cleared threshold.</summary>
public enum NotClearedAction
{
    /// <summary>Stop after the level (the next level would start from a model that has not learnt this one).</summary>
    Stop,

    /// <summary>Log a warning and go on to the next level.</summary>
    Warn,
}
