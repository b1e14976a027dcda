using System.IO.Compression;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace NewLlm.Training.Tests;

/// <summary>The JSON written for people: numbers as numbers, text as written (no <c>\u002B</c> for <c>+</c>, non-ASCII readable).</summary>
public sealed class JsonReportTests
{
    private const string Data = "hh-rlhf+harmless (café)";

    [Fact]
    public async Task RunConfigurationNumbersAreJsonNumbersAndTextIsWrittenAsIs()
    {
        using var setup = new TinySetup();
        TrainerOptions options = setup.Options(1);
        options.RunConfiguration["max_seq_length"] = 128;
        options.RunConfiguration["data"] = Data;
        using (var trainer = setup.CreateTrainer(setup.CreateModel(), options))
        {
            await trainer.TrainAsync();
        }

        string text = await File.ReadAllTextAsync(Path.Combine(setup.Directory, "tiny_progress.json"));
        JsonNode progress = JsonNode.Parse(text)!;
        Assert.Equal(JsonValueKind.Number, progress["config"]!["max_seq_length"]!.GetValueKind());
        Assert.Equal(128, progress["config"]!["max_seq_length"]!.GetValue<int>());
        Assert.Contains($"\"data\": \"{Data}\"", text, StringComparison.Ordinal);
        Assert.DoesNotContain("\\u", text, StringComparison.Ordinal);
        Assert.Contains("\n  \"model_name\": \"tiny\",\n", text.ReplaceLineEndings("\n"), StringComparison.Ordinal); // json.dump(indent=2)'s layout

        string manifest = ReadManifestText(Path.Combine(setup.Directory, "tiny_final.pt"));
        Assert.Contains($"\"data\": \"{Data}\"", manifest, StringComparison.Ordinal);
        Assert.Contains("\"max_seq_length\": 128", manifest, StringComparison.Ordinal);
        Assert.DoesNotContain("\\u", manifest, StringComparison.Ordinal);
    }

    [Fact]
    public void RunConfigurationIsCopiedByCloneAndDescribe()
    {
        var options = new TrainerOptions();
        options.RunConfiguration["tokenizer"] = "word";
        options.RunConfiguration["sizes"] = new JsonArray(1, 2);
        TrainerOptions copy = options.Clone();
        copy.RunConfiguration["tokenizer"] = "gpt2";
        Assert.Equal("word", options.RunConfiguration["tokenizer"]!.GetValue<string>());

        // Describe can be called again and again (a node has one parent; each description gets its own copy).
        Assert.Equal("[1,2]", options.Describe()["sizes"]!.ToJsonString());
        Assert.Equal("[1,2]", options.Describe()["sizes"]!.ToJsonString());
    }

    private static string ReadManifestText(string checkpoint)
    {
        using ZipArchive zip = ZipFile.OpenRead(checkpoint);
        using var reader = new StreamReader(zip.GetEntry(TrainingCheckpoint.ManifestZipName)!.Open(), Encoding.UTF8);
        return reader.ReadToEnd();
    }
}
