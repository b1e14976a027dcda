namespace NewLlm.Training;

/// <summary>One event <see cref="CallbackHarness"/> raised, and the requests pending right after the callbacks handled it (before they are acted on).</summary>
/// <param name="Name">The <see cref="ITrainerCallback"/> method, for example <c>OnEvaluationEnd</c>.</param>
/// <param name="Epoch">The epoch at the event (<see cref="TrainerState.Epoch"/>).</param>
/// <param name="GlobalStep">The optimizer steps taken at the event.</param>
/// <param name="Requests">The requests pending after it.</param>
/// <param name="Checkpoint">For <c>OnCheckpointSaved</c>, the checkpoint; otherwise null.</param>
public sealed record CallbackEvent(string Name, int Epoch, long GlobalStep, ControlRequests Requests, CheckpointInfo? Checkpoint = null);
