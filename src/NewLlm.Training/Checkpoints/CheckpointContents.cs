namespace NewLlm.Training.Checkpoints;

/// <summary>A verified checkpoint read into memory.</summary>
internal sealed record CheckpointContents(CheckpointManifest Manifest, IReadOnlyDictionary<string, byte[]> Entries);
