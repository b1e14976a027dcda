namespace NewLlm.Training;

/// <summary>A step of a curriculum run, for a person to read (which level, what is done).</summary>
/// <param name="Level">The 1-based level number.</param>
/// <param name="LevelCount">How many levels the run has.</param>
/// <param name="LevelName">The level's name.</param>
/// <param name="Message">What happens, in a sentence.</param>
public sealed record CurriculumProgress(int Level, int LevelCount, string LevelName, string Message)
{
    /// <inheritdoc />
    public override string ToString() => $"[Level {Level}/{LevelCount} {LevelName}] {Message}";
}
