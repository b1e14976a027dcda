namespace NewLlm.Training;

/// <summary>
/// The event ids of NewLlm.Training's log messages: 3xx, named, and never renumbered, so that log filters and queries
/// can rely on them (NewLlm.Data's are 2xx; 1xx is kept for NewLlm.Core, which does not log).
/// </summary>
internal static class TrainingLogEvents
{
    // LoggerReporter's [LoggerMessage] ids: constants, which attributes can take.
    public const int TrainingStarted = 300;
    public const int EpochEnded = 301;
    public const int PreferenceAccuracy = 302;
    public const int CheckpointSaved = 303;
    public const int TrainingEnded = 304;
    public const int TrainingFailed = 305;

    public static readonly EventId TrainingFailedEvent = new(TrainingFailed, nameof(TrainingFailed));
    public static readonly EventId CallbackFailed = new(306, nameof(CallbackFailed));
    public static readonly EventId TrainingDiverging = new(307, nameof(TrainingDiverging));
    public static readonly EventId ResumedFromOriginalCheckpoint = new(310, nameof(ResumedFromOriginalCheckpoint));
    public static readonly EventId ResumedFromCheckpoint = new(311, nameof(ResumedFromCheckpoint));
    public static readonly EventId CheckpointSeedDiffers = new(312, nameof(CheckpointSeedDiffers));
    public static readonly EventId CheckpointPrecisionDiffers = new(313, nameof(CheckpointPrecisionDiffers));
    public static readonly EventId CallbackStateUnclaimed = new(314, nameof(CallbackStateUnclaimed));
    public static readonly EventId OriginalHistoryIncomplete = new(315, nameof(OriginalHistoryIncomplete));
    public static readonly EventId OriginalAdamSettingsUsed = new(316, nameof(OriginalAdamSettingsUsed));
    public static readonly EventId OriginalLearningRateReplaced = new(317, nameof(OriginalLearningRateReplaced));
    public static readonly EventId StaleTemporaryFilesDeleted = new(320, nameof(StaleTemporaryFilesDeleted));
    public static readonly EventId EarlierResultsOverwritten = new(321, nameof(EarlierResultsOverwritten));
    public static readonly EventId CurriculumLevelNotCleared = new(330, nameof(CurriculumLevelNotCleared));
}
