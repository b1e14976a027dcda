namespace NewLlm.Training;

/// <summary>
/// What every callback event receives: the run's options and model, its <see cref="TrainerState"/> (read it) and its
/// <see cref="TrainerControl"/> (make requests through it). The context holds no state of its own.
/// </summary>
public sealed class TrainerContext
{
    private readonly Func<TrainerState> _state;
    private readonly LanguageModel? _model;

    internal TrainerContext(Trainer trainer)
        : this(trainer.Options, () => trainer.State, trainer.Control, trainer.Model)
    {
    }

    /// <summary>
    /// Creates a context outside a <see cref="Trainer"/>, for a unit test of a callback: the options, a state at any point
    /// of a run (<see cref="TrainerState.Create"/>), the control the callback's requests go to, and a model when the
    /// callback reads one. <see cref="CallbackHarness"/> builds one and drives a callback through a scripted run.
    /// </summary>
    /// <param name="options">The run's options.</param>
    /// <param name="state">The state the callback reads.</param>
    /// <param name="control">Receives the callback's requests; a new one when null.</param>
    /// <param name="model">The model, or null when the callback does not read <see cref="Model"/>.</param>
    public TrainerContext(TrainerOptions options, TrainerState state, TrainerControl? control = null, LanguageModel? model = null)
        : this(options, () => state, control ?? new TrainerControl(), model)
    {
        ArgumentNullException.ThrowIfNull(state);
    }

    private TrainerContext(TrainerOptions options, Func<TrainerState> state, TrainerControl control, LanguageModel? model)
    {
        ArgumentNullException.ThrowIfNull(options);
        (Options, _state, Control, _model) = (options, state, control, model);
    }

    /// <summary>The validated options of the run.</summary>
    public TrainerOptions Options { get; }

    /// <summary>The model being trained.</summary>
    /// <exception cref="InvalidOperationException">The context was created without a model.</exception>
    public LanguageModel Model => _model ?? throw new InvalidOperationException(
        "This TrainerContext was created without a model, and the callback reads TrainerContext.Model: pass a model to the TrainerContext or CallbackHarness constructor (a small NewLlmModel will do).");

    /// <summary>The state of the run (the object checkpoints save).</summary>
    public TrainerState State => _state();

    /// <summary>The requests callbacks make to the trainer.</summary>
    public TrainerControl Control { get; }
}
