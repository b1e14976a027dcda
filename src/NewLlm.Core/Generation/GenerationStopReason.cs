namespace NewLlm;

/// <summary>Why a generation ended (<see cref="GenerationSession.StopReason"/>).</summary>
public enum GenerationStopReason
{
    /// <summary><see cref="GenerationOptions.MaxNewTokens"/> tokens were generated.</summary>
    MaxNewTokens,

    /// <summary>The end-of-sequence token was generated (<see cref="GenerationOptions.StopAtEndOfSequence"/>).</summary>
    EndOfSequence,

    /// <summary>One of <see cref="GenerationOptions.StopSequences"/> was generated.</summary>
    StopSequence,

    /// <summary>One of <see cref="GenerationOptions.StopStrings"/> was written.</summary>
    StopString,

    /// <summary>
    /// The model has no position left (a <see cref="TransformerBaselineModel"/>'s MaxSeqLength): the last token was
    /// generated from the last position and not read, so the session cannot be continued.
    /// </summary>
    PositionLimit,
}
