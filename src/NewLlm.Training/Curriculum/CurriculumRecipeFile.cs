namespace NewLlm.Training;

/// <summary>A recipe file (<see cref="CurriculumRecipe"/>'s schema) read and written, every error naming the file, the level and the field.</summary>
internal static class CurriculumRecipeFile
{
    public const long MaxBytes = 1 << 20;

    private static readonly string[] Fields = ["name", "subset", "layers", "context_size", "max_seq_length", "epochs", "patience", "cleared_ppl", "max_samples", "math_levels", "math_types"];

    public static CurriculumRecipe Read(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var file = new FileInfo(path);
        if (!file.Exists)
        {
            throw new FileNotFoundException($"The recipe file '{path}' does not exist.", path);
        }

        if (file.Length > MaxBytes)
        {
            throw new InvalidDataException($"The recipe file '{path}' is {file.Length:N0} bytes; a recipe is at most {MaxBytes:N0} bytes. Is it the right file?");
        }

        JsonNode? root;
        try
        {
            root = JsonNode.Parse(File.ReadAllBytes(path), documentOptions: new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"The recipe file '{path}' is not valid JSON (line {ex.LineNumber + 1}, byte {ex.BytePositionInLine + 1}): {ex.Message}", ex);
        }

        if (root is not JsonObject top || top["levels"] is not JsonArray levels)
        {
            throw new InvalidDataException($"The recipe file '{path}' must hold an object with a \"levels\" array, for example {{\"levels\": [{{\"name\": \"dolly\", \"cleared_ppl\": 17}}]}}.");
        }

        var read = new List<CurriculumLevel>();
        if (top.Select(p => p.Key).FirstOrDefault(k => k != "levels") is string extra)
        {
            throw new InvalidDataException($"The recipe file '{path}': unknown field \"{extra}\"; a recipe holds only \"levels\".");
        }

        for (int i = 0; i < levels.Count; i++)
        {
            read.Add(ReadLevel(path, i, levels[i]));
            try
            {
                _ = read[i].Dataset();
            }
            catch (FormatException ex)
            {
                throw new InvalidDataException($"The recipe file '{path}', level {i + 1}: {ex.Message}", ex);
            }
        }

        try
        {
            return new CurriculumRecipe(read);
        }
        catch (ArgumentException ex)
        {
            throw new InvalidDataException($"The recipe file '{path}': {ex.Message}", ex);
        }
    }

    public static JsonObject ToJson(CurriculumRecipe recipe) => new()
    {
        ["levels"] = new JsonArray([.. recipe.Levels.Select(l => (JsonNode)new JsonObject
        {
            ["name"] = l.Name,
            ["subset"] = l.Subset,
            ["layers"] = l.Layers,
            ["context_size"] = l.ContextSize,
            ["max_seq_length"] = l.MaxSequenceLength,
            ["epochs"] = l.Epochs,
            ["patience"] = l.EarlyStoppingPatience,
            ["cleared_ppl"] = l.ClearedPerplexity,
            ["max_samples"] = l.MaxSamples,
            ["math_levels"] = l.MathLevels,
            ["math_types"] = l.MathTypes,
        })]),
    };

    private static CurriculumLevel ReadLevel(string path, int index, JsonNode? node)
    {
        string where = $"The recipe file '{path}', level {index + 1}";
        if (node is not JsonObject level)
        {
            throw new InvalidDataException($"{where}: each level must be an object such as {{\"name\": \"dolly\", \"cleared_ppl\": 17}}.");
        }

        foreach ((string key, _) in level)
        {
            if (!Fields.Contains(key, StringComparer.Ordinal))
            {
                throw new InvalidDataException($"{where}: unknown field \"{key}\"; the fields are {string.Join(", ", Fields)}.");
            }
        }

        T Get<T>(string field, T fallback, bool required = false)
        {
            JsonNode? value = level[field];
            if (value is null)
            {
                return required ? throw new InvalidDataException($"{where}: \"{field}\" is missing.") : fallback;
            }

            try
            {
                return value.GetValue<T>();
            }
            catch (Exception ex) when (ex is InvalidOperationException or FormatException)
            {
                string expected = typeof(T) == typeof(string) ? "a string" : typeof(T) == typeof(double) ? "a number" : "a whole number";
                throw new InvalidDataException($"{where}: \"{field}\" must be {expected}, not {value.ToJsonString()}.", ex);
            }
        }

        var defaults = new CurriculumLevel { Name = string.Empty };
        return new CurriculumLevel
        {
            Name = Get("name", string.Empty, required: true),
            Subset = level["subset"] is null ? null : Get("subset", string.Empty),
            Layers = Get("layers", defaults.Layers),
            ContextSize = Get("context_size", defaults.ContextSize),
            MaxSequenceLength = Get("max_seq_length", defaults.MaxSequenceLength),
            Epochs = Get("epochs", defaults.Epochs),
            EarlyStoppingPatience = Get("patience", defaults.EarlyStoppingPatience),
            ClearedPerplexity = Get("cleared_ppl", 0.0, required: true),
            MaxSamples = level["max_samples"] is null ? null : Get("max_samples", 0),
            MathLevels = level["math_levels"] is null ? null : Get("math_levels", string.Empty),
            MathTypes = level["math_types"] is null ? null : Get("math_types", string.Empty),
        };
    }
}
