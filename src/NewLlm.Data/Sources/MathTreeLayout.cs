namespace NewLlm.Data;

/// <summary>
/// Finds the original MATH release's tree (<c>MATH/train/&lt;type&gt;/&lt;n&gt;.json</c>, <c>MATH/test/…</c>) in what
/// <c>--data-dir</c> names: the folder that holds <c>MATH/</c>, <c>MATH/</c> itself, a <c>.zip</c> of the tree (its
/// folder found wherever it is inside), or a folder holding such a zip (<c>MATH.zip</c>, or its one <c>MATH*.zip</c>); the splits as <see cref="JsonFileTree"/> source paths.
/// </summary>
internal static class MathTreeLayout
{
    /// <summary>What a tree layout is, for messages.</summary>
    public const string Expected = "the original release's tree MATH/train/<type>/<n>.json and MATH/test/<type>/<n>.json (a folder holding MATH/ or MATH.zip, MATH/ itself, or a .zip of it)";

    /// <summary>The training and test folders of the tree in <paramref name="path"/>, or <see langword="null"/> when it holds none.</summary>
    /// <exception cref="FileNotFoundException">A training folder without its test folder.</exception>
    public static (string Train, string Test)? Find(string path)
    {
        if (File.Exists(path) && path.EndsWith(".zip", StringComparison.OrdinalIgnoreCase))
        {
            return FindInZip(Path.GetFullPath(path));
        }

        foreach (string root in new[] { Path.Combine(path, "MATH"), path }.Select(Path.GetFullPath))
        {
            if (JsonFileTree.HasGroups(Path.Combine(root, "train")))
            {
                return JsonFileTree.HasGroups(Path.Combine(root, "test"))
                    ? (Path.Combine(root, "train"), Path.Combine(root, "test"))
                    : throw new FileNotFoundException($"'{root}' holds MATH's train/ folder but no test/<type>/<n>.json files; MATH is read as {Expected}.", Path.Combine(root, "test"));
            }
        }

        // A folder holding the release's zip (MATH.zip, or one MATH*.zip) and no tree: the zip.
        if (Directory.Exists(path))
        {
            string[] zips = [.. Directory.EnumerateFiles(path, "MATH*.zip", new EnumerationOptions { MatchCasing = MatchCasing.CaseInsensitive })];
            string? zip = zips.FirstOrDefault(z => string.Equals(Path.GetFileName(z), "MATH.zip", StringComparison.OrdinalIgnoreCase))
                ?? (zips.Length == 1 ? zips[0] : null);
            if (zip is not null)
            {
                return FindInZip(Path.GetFullPath(zip));
            }
        }

        return null;
    }

    private static (string Train, string Test) FindInZip(string zip)
    {
        using var archive = JsonFileTree.OpenZip(zip);
        string? Prefix(string split) => archive.Entries
            .Select(e => e.FullName.Split('/'))
            .Where(parts => parts.Length >= 3 && parts[^3] == split && parts[^1].EndsWith(".json", StringComparison.OrdinalIgnoreCase))
            .Select(parts => string.Join('/', parts[..^3]))
            .Order(StringComparer.Ordinal)
            .FirstOrDefault();
        string train = Prefix("train") ?? throw new FileNotFoundException($"'{zip}' holds no train/<type>/<n>.json entries; MATH is read as {Expected}.", zip);
        return Prefix("test") == train
            ? (JsonFileTree.InZip(zip, Folder(train, "train")), JsonFileTree.InZip(zip, Folder(train, "test")))
            : throw new FileNotFoundException($"'{zip}' holds {Folder(train, "train")}/ but no {Folder(train, "test")}/<type>/<n>.json entries; MATH is read as {Expected}.", zip);
    }

    private static string Folder(string prefix, string split) => prefix.Length == 0 ? split : $"{prefix}/{split}";
}
