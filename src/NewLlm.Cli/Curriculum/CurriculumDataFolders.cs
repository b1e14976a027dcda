namespace NewLlm.Cli;

/// <summary>
/// <c>newllm curriculum --data-dir</c>: <c>NAME=PATH</c> for one level, or <c>ROOT</c>, a folder with a subfolder per level
/// named by the level (<c>dolly</c>) or by its Hub repository (<c>databricks-dolly-15k</c>), or a set as it is published
/// (<c>code_alpaca_20k.json</c>, <c>MATH/</c>, <c>MATH.zip</c>). A level with neither downloads.
/// </summary>
internal static class CurriculumDataFolders
{
    public static void Resolve(IReadOnlyList<string> values, CurriculumRecipe recipe, IDictionary<string, string> folders)
    {
        var roots = new List<string>();
        foreach (string value in values)
        {
            int equals = value.IndexOf('=', StringComparison.Ordinal);
            string name = equals > 0 ? value[..equals].Trim() : string.Empty;
            if (equals > 0 && recipe.Levels.Any(l => string.Equals(l.Name, name, StringComparison.OrdinalIgnoreCase)))
            {
                folders[name] = Existing(value[(equals + 1)..], $"--data-dir {value}");
            }
            else if (equals > 0 && CurriculumRecipe.Original.Levels.Any(l => string.Equals(l.Name, name, StringComparison.OrdinalIgnoreCase)))
            {
                Console.WriteLine($"--data-dir {value}: {name} is not among the levels run ({string.Join(", ", recipe.Levels.Select(l => l.Name))}); ignored.");
            }
            else if (equals > 0 && !Directory.Exists(value) && !File.Exists(value))
            {
                throw new ArgumentException($"--data-dir {value}: '{name}' is not a level of this curriculum ({string.Join(", ", recipe.Levels.Select(l => l.Name))}).");
            }
            else
            {
                roots.Add(Existing(value, $"--data-dir {value}"));
            }
        }

        foreach (CurriculumLevel level in recipe.Levels.Where(l => !folders.ContainsKey(l.Name)))
        {
            string[] names = [level.Name, .. HubName(level.Name) is string hub ? [hub] : Array.Empty<string>(), .. ReleaseNames(level.Name)];
            string? found = roots.SelectMany(root => names.Select(n => Path.Combine(root, n))).FirstOrDefault(p => Directory.Exists(p) || File.Exists(p));
            if (found is not null)
            {
                folders[level.Name] = found;
            }
            else if (roots.Count > 0)
            {
                Console.WriteLine($"No folder for level {level.Name} under {string.Join(", ", roots)} (looked for {string.Join(", ", names)}): it downloads from the Hugging Face Hub.");
            }
        }
    }

    private static string Existing(string path, string option) =>
        Directory.Exists(path) || File.Exists(path) ? path : throw new ArgumentException($"{option}: '{path}' does not exist.");

    // What a set is called as it is published, when it is not a folder named like the level: CodeAlpaca's one file, MATH's tree and its zip.
    private static string[] ReleaseNames(string level) => level.ToLowerInvariant() switch
    {
        "codealpaca" => ["code_alpaca_20k.json"],
        "math" => ["MATH", "MATH.zip"],
        _ => [],
    };

    // The last part of the level's Hub repository (databricks-dolly-15k), or null for a set the library does not know yet.
    private static string? HubName(string level)
    {
        try
        {
            return DialogueDataset.Parse(level).HubRepositoryId?.Split('/')[^1];
        }
        catch (FormatException)
        {
            return null;
        }
    }
}
