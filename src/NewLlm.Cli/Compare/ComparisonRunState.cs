namespace NewLlm.Cli;

/// <summary>What a <see cref="ComparisonRun"/>'s folder holds from an earlier comparison.</summary>
internal enum ComparisonRunState
{
    /// <summary>No checkpoint: the run is trained.</summary>
    Fresh,

    /// <summary>A checkpoint before the end (Ctrl-C, a crash): the run is continued from it.</summary>
    Interrupted,

    /// <summary>The run's final checkpoint, with this command's settings: the run is reused, not trained again.</summary>
    Finished,
}
