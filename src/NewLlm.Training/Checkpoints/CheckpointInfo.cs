namespace NewLlm.Training;

/// <summary>A checkpoint that was written.</summary>
/// <param name="Path">Full path of the file.</param>
/// <param name="Kind">Why it was written.</param>
/// <param name="Epoch">Completed epochs at the time (an interrupt checkpoint is inside epoch <c>Epoch + 1</c>).</param>
/// <param name="GlobalStep">Optimizer steps taken.</param>
public sealed record CheckpointInfo(string Path, CheckpointKind Kind, int Epoch, long GlobalStep);
