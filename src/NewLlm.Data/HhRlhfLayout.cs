namespace NewLlm.Data;

/// <summary>Names of the HH-RLHF subsets and splits as laid out in the Hub repository <c>Anthropic/hh-rlhf</c>.</summary>
public static class HhRlhfLayout
{
    /// <summary>The Hub repository id of the dataset.</summary>
    public const string RepositoryId = "Anthropic/hh-rlhf";

    private static readonly HhRlhfSubset[] Subsets = Enum.GetValues<HhRlhfSubset>();

    /// <summary>
    /// The short subset names, in <see cref="HhRlhfSubset"/> order: <c>helpful</c>, <c>harmless</c>, <c>helpful-online</c>,
    /// <c>helpful-rejection-sampled</c>, <c>all</c> (what <see cref="GetSubsetName"/> gives and <see cref="ParseSubset"/> reads).
    /// </summary>
    public static IReadOnlyList<string> SubsetNames { get; } = Array.AsReadOnly(Subsets.Select(GetSubsetName).ToArray());

    /// <summary>The short name of a subset: <c>helpful</c>, <c>harmless</c>, <c>helpful-online</c>, <c>helpful-rejection-sampled</c> or <c>all</c>.</summary>
    /// <param name="subset">The subset.</param>
    /// <returns>The short name.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="subset"/> is not defined.</exception>
    public static string GetSubsetName(HhRlhfSubset subset) => subset switch
    {
        HhRlhfSubset.Helpful => "helpful",
        HhRlhfSubset.Harmless => "harmless",
        HhRlhfSubset.HelpfulOnline => "helpful-online",
        HhRlhfSubset.HelpfulRejectionSampled => "helpful-rejection-sampled",
        HhRlhfSubset.All => "all",
        _ => throw new ArgumentOutOfRangeException(nameof(subset), subset, "Unknown subset."),
    };

    /// <summary>
    /// Reads a subset name, ignoring case and surrounding white space: a short name (<see cref="SubsetNames"/>), a Hub
    /// folder name (<c>helpful-base</c>, <c>harmless-base</c>, ...) or the <see cref="HhRlhfSubset"/> member name.
    /// </summary>
    /// <param name="name">The name.</param>
    /// <param name="subset">The subset, when the name is one.</param>
    /// <returns>Whether <paramref name="name"/> names a subset.</returns>
    public static bool TryParseSubset(string? name, out HhRlhfSubset subset)
    {
        string trimmed = name?.Trim() ?? string.Empty;
        foreach (var candidate in Subsets)
        {
            if (string.Equals(trimmed, GetSubsetName(candidate), StringComparison.OrdinalIgnoreCase)
                || string.Equals(trimmed, candidate.ToString(), StringComparison.OrdinalIgnoreCase)
                || (candidate != HhRlhfSubset.All && string.Equals(trimmed, GetDirectoryName(candidate), StringComparison.OrdinalIgnoreCase)))
            {
                subset = candidate;
                return true;
            }
        }

        subset = default;
        return false;
    }

    /// <summary>Reads a subset name as <see cref="TryParseSubset"/> does.</summary>
    /// <param name="name">The name.</param>
    /// <returns>The subset.</returns>
    /// <exception cref="FormatException"><paramref name="name"/> names no subset; the message lists the accepted names on one line.</exception>
    public static HhRlhfSubset ParseSubset(string name) => TryParseSubset(name, out var subset)
        ? subset
        : throw new FormatException(
            $"'{name}' is not an HH-RLHF subset; expected one of {string.Join(", ", SubsetNames)} "
            + $"(or a Hub folder name: {string.Join(", ", Subsets.SkipLast(1).Select(GetDirectoryName))}), in any case.");

    /// <summary>The subset directory name, for example <c>harmless-base</c>; not defined for <see cref="HhRlhfSubset.All"/>.</summary>
    /// <param name="subset">A single subset.</param>
    /// <returns>The directory name.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="subset"/> is <see cref="HhRlhfSubset.All"/> or not defined.</exception>
    public static string GetDirectoryName(HhRlhfSubset subset) => subset switch
    {
        HhRlhfSubset.Helpful => "helpful-base",
        HhRlhfSubset.Harmless => "harmless-base",
        HhRlhfSubset.HelpfulOnline => "helpful-online",
        HhRlhfSubset.HelpfulRejectionSampled => "helpful-rejection-sampled",
        _ => throw new ArgumentOutOfRangeException(nameof(subset), subset, "Only a single subset has a directory name."),
    };

    /// <summary>The split's file stem: <c>train</c> or <c>test</c>.</summary>
    /// <param name="split">The split.</param>
    /// <returns>The file stem.</returns>
    public static string GetSplitName(HhRlhfSplit split) => split switch
    {
        HhRlhfSplit.Train => "train",
        HhRlhfSplit.Test => "test",
        _ => throw new ArgumentOutOfRangeException(nameof(split), split, "Unknown split."),
    };

    /// <summary>The single subsets a subset stands for: itself, or the four subsets for <see cref="HhRlhfSubset.All"/>.</summary>
    /// <param name="subset">The subset.</param>
    /// <returns>The single subsets in load order.</returns>
    public static IReadOnlyList<HhRlhfSubset> Expand(HhRlhfSubset subset) => subset switch
    {
        HhRlhfSubset.All => [HhRlhfSubset.Helpful, HhRlhfSubset.Harmless, HhRlhfSubset.HelpfulOnline, HhRlhfSubset.HelpfulRejectionSampled],
        HhRlhfSubset.Helpful or HhRlhfSubset.Harmless or HhRlhfSubset.HelpfulOnline or HhRlhfSubset.HelpfulRejectionSampled => [subset],
        _ => throw new ArgumentOutOfRangeException(nameof(subset), subset, "Unknown subset."),
    };

    /// <summary>The repository-relative path of a file, for example <c>harmless-base/test.jsonl.gz</c>.</summary>
    /// <param name="subset">A single subset.</param>
    /// <param name="split">The split.</param>
    /// <returns>The path with forward slashes.</returns>
    public static string GetRelativePath(HhRlhfSubset subset, HhRlhfSplit split) =>
        $"{GetDirectoryName(subset)}/{GetSplitName(split)}.jsonl.gz";

    /// <summary>The published sha256 (lower-case hex) and size of a file, where known (see the table in the project issue).</summary>
    /// <param name="subset">A single subset.</param>
    /// <param name="split">The split.</param>
    /// <returns>The known checksum and size, or <see langword="null"/> where they are not known.</returns>
    public static (string Sha256, long Size)? GetKnownChecksum(HhRlhfSubset subset, HhRlhfSplit split) => (subset, split) switch
    {
        (HhRlhfSubset.Helpful, HhRlhfSplit.Train) => ("518a5bf288456fc9f3b7c980c54116fba0c52f274d3f4d344675d83e4058f6f4", 16_200_131),
        (HhRlhfSubset.Helpful, HhRlhfSplit.Test) => ("8be3fc1a13b27901631696f2be6f184c799f1baeaf145f53ac5db24960adc37b", 875_191),
        (HhRlhfSubset.HelpfulOnline, HhRlhfSplit.Train) => ("0994d18b82083f5c084ce04071b683958a724df8c7215ab1d851986642d36a2a", 20_127_228),
        (HhRlhfSubset.HelpfulOnline, HhRlhfSplit.Test) => ("39a475cc7e0df972902f8e3a0972726fce826ac65369bda8c671de4330c60a10", 1_053_578),
        (HhRlhfSubset.HelpfulRejectionSampled, HhRlhfSplit.Train) => ("0cea2d2ab2187624ec1314e8cc6fb579f0fa987b3a33e8102b7556ed4d255f64", 25_697_148),
        (HhRlhfSubset.HelpfulRejectionSampled, HhRlhfSplit.Test) => ("abc35dbc56015db1dae0faa484514ccbc3eee0133bfcd557fc69250619b028bb", 1_361_231),
        (HhRlhfSubset.Harmless, HhRlhfSplit.Test) => ("ebfaaed21162a4de120ae85366075b34425e2a6303fac59b99555002f7016f03", 742_801),
        _ => null,
    };

    /// <summary>The layout a folder of the set must have, with the path of <paramref name="relativePath"/> in it.</summary>
    internal static string ExpectedLayout(string directory, string relativePath) =>
        "An HH-RLHF folder is laid out like the Hub repository: <directory>/<subset folder>/<split>.jsonl.gz (or .jsonl), "
        + $"here '{Path.Combine([directory, .. relativePath.Split('/')])}'.";

    /// <summary>Why a file of the set is not in a folder: the layout expected, what the folder holds, and a guess at the folder meant.</summary>
    internal static string DescribeMissingFile(string directory, string relativePath)
    {
        string missingFolder = relativePath[..relativePath.IndexOf('/', StringComparison.Ordinal)];
        string fileName = relativePath[(missingFolder.Length + 1)..];
        string[] subsetFolders = Expand(HhRlhfSubset.All).Select(GetDirectoryName).ToArray();
        string[] Names(IEnumerable<string> paths) => paths.Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal).ToArray();
        string List(string[] names) => names.Length <= 8 ? string.Join(", ", names) : string.Join(", ", names[..8]) + $" and {names.Length - 8} more";
        string Describe()
        {
            string[] dataFiles = Names(Directory.EnumerateFiles(directory).Where(f => f.EndsWith(".jsonl.gz", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase)));
            string[] present = Names(Directory.EnumerateDirectories(directory)).Where(f => subsetFolders.Contains(f, StringComparer.Ordinal)).ToArray();
            string subsetFolder = Path.Combine(directory, missingFolder);
            if (Directory.Exists(subsetFolder))
            {
                string[] inside = Names(Directory.EnumerateFiles(subsetFolder));
                return inside.Length == 0 ? $"'{subsetFolder}' is empty." : $"'{subsetFolder}' holds {List(inside)}, but no {fileName}.";
            }

            if (present.Length > 0)
            {
                return $"'{directory}' holds the subset folders {string.Join(", ", present)}, but not {missingFolder}.";
            }

            if (dataFiles.Length > 0)
            {
                string parent = Path.GetDirectoryName(Path.GetFullPath(directory).TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar)) ?? directory;
                return $"'{directory}' itself holds {List(dataFiles)}: it looks like a subset folder; did you mean its parent folder '{parent}'?";
            }

            string[] candidates = Directory.EnumerateDirectories(directory)
                .Where(d => subsetFolders.Any(s => Directory.Exists(Path.Combine(d, s))))
                .Order(StringComparer.Ordinal)
                .ToArray();
            // Suggest a folder that really holds the file asked for; name the others as they are.
            string[] complete = [.. candidates.Where(d => File.Exists(Path.Combine(d, missingFolder, fileName)) || File.Exists(Path.Combine(d, missingFolder, fileName[..^3])))];
            if (candidates.Length > 0)
            {
                string these = string.Join(" and ", candidates.Select(c => $"'{c}'"));
                return complete.Length > 0
                    ? $"'{directory}' holds no subset folder, but {these} {(candidates.Length == 1 ? "does" : "do")}: did you mean '{complete[0]}'?"
                    : $"'{directory}' holds no subset folder; {these} {(candidates.Length == 1 ? "holds" : "hold")} subset folders, but not the file asked for.";
            }

            return $"'{directory}' holds no subset folder ({string.Join(", ", subsetFolders)}). {DialogueSource.DescribeFolder(directory)}";
        }

        string path = Path.Combine(directory, missingFolder, fileName);
        return $"HH-RLHF file not found: '{path}' (nor '{Path.GetFileName(path)[..^3]}' beside it). {ExpectedLayout(directory, relativePath)} {Describe()}";
    }

    /// <summary>The published sha256 and size of a file by its repository-relative path, where known.</summary>
    internal static (string Sha256, long Size)? GetKnownChecksum(string relativePath) =>
        (from subset in Expand(HhRlhfSubset.All)
         from split in new[] { HhRlhfSplit.Train, HhRlhfSplit.Test }
         where GetRelativePath(subset, split) == relativePath
         select GetKnownChecksum(subset, split)).FirstOrDefault();
}
