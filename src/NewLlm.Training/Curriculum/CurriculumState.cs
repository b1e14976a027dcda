using System.Text.Json.Serialization;

namespace NewLlm.Training;

/// <summary>
/// <c>{output}/curriculum.json</c>: the recipe and options a curriculum runs with (its identity), the finished levels'
/// rows and how the last run ended; written atomically after every level, read to resume.
/// </summary>
internal sealed class CurriculumState
{
    public const string FileName = "curriculum.json";
    public const string FormatName = "newllm.curriculum/1";
    private const long MaxBytes = 16 << 20;

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        Encoder = ReadableJson.Encoder,
        Converters = { new JsonStringEnumConverter() },
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public required JsonObject Settings { get; init; }

    public List<CurriculumLevelResult> Levels { get; init; } = [];

    public CurriculumOutcome? Outcome { get; set; }

    /// <summary>The identity of a run: the recipe and the options that decide what it computes.</summary>
    public static JsonObject SettingsOf(CurriculumRecipe recipe, CurriculumOptions options) => new() { ["recipe"] = recipe.ToJson(), ["options"] = options.Describe() };

    public static CurriculumState? Read(string path)
    {
        var file = new FileInfo(path);
        if (!file.Exists)
        {
            return null;
        }

        if (file.Length > MaxBytes)
        {
            throw new InvalidDataException($"'{path}' is {file.Length:N0} bytes, more than a curriculum's state ever holds ({MaxBytes:N0}): it is not this tool's curriculum.json. Choose another output folder, or delete it.");
        }

        try
        {
            JsonObject root = JsonNode.Parse(File.ReadAllBytes(path))?.AsObject() ?? throw new JsonException("the file holds null");
            if ((string?)root["format"] != FormatName)
            {
                throw new JsonException($"its format is {root["format"]?.ToJsonString() ?? "missing"}, not \"{FormatName}\"");
            }

            return new CurriculumState
            {
                Settings = root["settings"]?.AsObject().DeepClone().AsObject() ?? throw new JsonException("it has no settings"),
                Levels = root["levels"].Deserialize<List<CurriculumLevelResult>>(Json) ?? [],
                Outcome = root["outcome"].Deserialize<CurriculumOutcome?>(Json),
            };
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or NotSupportedException)
        {
            throw new InvalidDataException($"'{path}' cannot be read as a curriculum's state ({ex.Message}). Run with overwrite to start afresh in that folder, or choose another one.", ex);
        }
    }

    public void Write(string path)
    {
        var root = new JsonObject
        {
            ["format"] = FormatName,
            ["outcome"] = JsonSerializer.SerializeToNode(Outcome, Json),
            ["settings"] = Settings.DeepClone(),
            ["levels"] = JsonSerializer.SerializeToNode(Levels, Json),
        };
        AtomicFile.Write(path, stream => JsonSerializer.Serialize(stream, root, Json), flushToDisk: true);
    }

    /// <summary>Where <paramref name="saved"/> and <paramref name="now"/> differ, one entry per value (<c>recipe.levels[1].epochs: 100 before, 1 now</c>).</summary>
    public static List<string> Differences(JsonNode? saved, JsonNode? now, string path = "")
    {
        var differences = new List<string>();
        if (saved is JsonObject a && now is JsonObject b)
        {
            foreach (string key in a.Select(p => p.Key).Union(b.Select(p => p.Key)).Order(StringComparer.Ordinal))
            {
                differences.AddRange(Differences(a[key], b[key], path.Length == 0 ? key : $"{path}.{key}"));
            }
        }
        else if (saved is JsonArray x && now is JsonArray y && x.Count == y.Count)
        {
            for (int i = 0; i < x.Count; i++)
            {
                differences.AddRange(Differences(x[i], y[i], $"{path}[{i}]"));
            }
        }
        else if (!JsonNode.DeepEquals(saved, now))
        {
            differences.Add($"{path}: {saved?.ToJsonString() ?? "none"} before, {now?.ToJsonString() ?? "none"} now");
        }

        return differences;
    }
}
