namespace NewLlm.Cli;

/// <summary>
/// A checkpoint given on the command line (<c>--resume</c>, <c>--from</c>, <c>--checkpoint</c>): a folder is refused
/// naming the checkpoints in it and the one that has trained furthest, a missing file naming the option.
/// </summary>
internal static class CheckpointArgument
{
    /// <summary>Throws unless <paramref name="path"/>, given to <paramref name="optionName"/>, is an existing file.</summary>
    public static void RequireFile(string path, string optionName)
    {
        if (Directory.Exists(path))
        {
            string[] checkpoints = [.. Directory.EnumerateFiles(path, "*.pt").Select(Path.GetFileName).Order(StringComparer.Ordinal)!];
            throw new ArgumentException($"{optionName} {path} is a folder; give a checkpoint file in it" + (checkpoints.Length == 0
                ? " (it holds none)."
                : $", for example {RunDirectory.FindLatestCheckpoint(path) ?? Path.Combine(path, checkpoints[0])}, the one that has trained furthest (it holds {string.Join(", ", checkpoints)})."));
        }

        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{optionName} {path}: there is no such file.");
        }
    }
}
