namespace NewLlm.Training;

/// <summary>Why a checkpoint was written.</summary>
public enum CheckpointKind
{
    /// <summary><c>best_{name}.pt</c>: validation loss improved.</summary>
    Best,

    /// <summary><c>{name}_epoch_{n}.pt</c>: the periodic save.</summary>
    Periodic,

    /// <summary><c>{name}_final.pt</c>: training ended.</summary>
    Final,

    /// <summary><c>{name}_interrupted.pt</c>: cancellation, mid-epoch, resumable.</summary>
    Interrupted,

    /// <summary><c>{name}_epoch_{n}.pt</c> written because a callback asked for it.</summary>
    Requested,

    /// <summary><c>{name}_step_{n}.pt</c>: the periodic save by optimizer steps, mid-epoch, resumable (only the newest is kept).</summary>
    Step,
}
