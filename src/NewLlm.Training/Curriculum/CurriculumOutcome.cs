namespace NewLlm.Training;

/// <summary>How a curriculum run ended.</summary>
public enum CurriculumOutcome
{
    /// <summary>Every level was trained.</summary>
    Completed,

    /// <summary>A level missed its cleared perplexity and <see cref="NotClearedAction.Stop"/> stopped the run after it.</summary>
    NotCleared,

    /// <summary>The cancellation token fired; the level's interrupt checkpoint lets the same run resume.</summary>
    Cancelled,
}
