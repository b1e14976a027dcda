namespace NewLlm.Training;

/// <summary>
/// What every callback event receives: the run's options and model, its <see cref="TrainerState"/> (read it) and its
/// <see cref="TrainerControl"/> (make requests through it). The context holds no state of its own.
/// </summary>
public sealed class TrainerContext
{
    private readonly Trainer _trainer;

    internal TrainerContext(Trainer trainer) => _trainer = trainer;

    /// <summary>The validated options of the run.</summary>
    public TrainerOptions Options => _trainer.Options;

    /// <summary>The model being trained.</summary>
    public NewLlmModel Model => _trainer.Model;

    /// <summary>The state of the run (the object checkpoints save).</summary>
    public TrainerState State => _trainer.State;

    /// <summary>The requests callbacks make to the trainer.</summary>
    public TrainerControl Control => _trainer.Control;
}
