using System.Text.Json;
using NewLlm.Data.Tests.Infrastructure;
using NewLlm.Tests;

namespace NewLlm.Data.Tests;

/// <summary>
/// The general dialogue source against the original pipeline's own rules run in Python (Fixtures/original_dialogue.py,
/// NumPy 1.24.2): on synthetic Dolly and UltraChat files, the same vocabulary (word for word, in id order), the same
/// rows in the training and test splits, and the same ids for each row.
/// </summary>
public sealed class DialogueCorpusOriginalTests
{
    private static readonly string Root = Path.Combine(SharedData.RepositoryRoot, "tests", "NewLlm.Data.Tests", "Fixtures", "original_dialogue");
    private static readonly JsonElement Expected = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(Root, "expected.json"))).RootElement;

    [Theory]
    [InlineData("dolly")]
    [InlineData("ultrachat")]
    public async Task TheVocabularySplitAndIdsAreTheOriginals(string name)
    {
        var expected = Expected.GetProperty(name);
        var dataset = DialogueDataset.Parse(name);
        var source = await DialogueSource.FromDirectoryAsync(dataset, Path.Combine(Root, name));
        var options = new DialogueCorpusOptions
        {
            VocabularySize = Expected.GetProperty("vocab_size").GetInt32(),
            MaxSequenceLength = Expected.GetProperty("max_length").GetInt32(),
            MaxSamples = expected.TryGetProperty("max_samples", out var n) ? n.GetInt32() : null,
        };
        using var cache = new TempDirectory();
        using var corpus = await DialogueCorpus.LoadAsync(source, cache.Path, options);

        var tokenizer = Assert.IsType<WordLevelTokenizer>(corpus.Tokenizer);
        Assert.Equal(expected.GetProperty("words").EnumerateArray().Select(w => w.GetString()), tokenizer.Words);
        AssertRows(expected.GetProperty("train"), corpus.Train);
        AssertRows(expected.GetProperty("test"), corpus.Test);
    }

    // The corpus keeps the selected rows in file order: the original's rows sorted by their index in the files.
    private static void AssertRows(JsonElement expected, TokenizedCorpus actual)
    {
        int[][] rows = [.. expected.EnumerateObject()
            .OrderBy(p => int.Parse(p.Name, System.Globalization.CultureInfo.InvariantCulture))
            .Select(p => p.Value.EnumerateArray().Select(i => i.GetInt32()).ToArray())];
        Assert.Equal(rows, Enumerable.Range(0, actual.Count).Select(i => actual.GetTokens(i).ToArray()));
    }
}
