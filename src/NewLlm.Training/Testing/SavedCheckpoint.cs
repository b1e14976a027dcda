namespace NewLlm.Training;

/// <summary>A checkpoint <see cref="CallbackHarness"/> stood in for: what a real one would record of it, and the states of the <see cref="ICheckpointStateful"/> callbacks it would hold.</summary>
/// <param name="Info">The checkpoint, as <see cref="ITrainerCallback.OnCheckpointSaved"/> received it.</param>
/// <param name="CallbackStates">Each stateful callback's <see cref="ICheckpointStateful.SaveState"/>, by <see cref="ICheckpointStateful.StateKey"/>, after a JSON round trip as in a checkpoint file.</param>
public sealed record SavedCheckpoint(CheckpointInfo Info, IReadOnlyDictionary<string, JsonNode> CallbackStates);
