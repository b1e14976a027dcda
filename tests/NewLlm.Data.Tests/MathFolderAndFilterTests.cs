using System.IO.Compression;
using NewLlm.Tests;

namespace NewLlm.Data.Tests;

/// <summary>
/// MATH as a person hands it over: a folder holding the release's zip, a filter that leaves no rows, and a level that is
/// not the release's string, refused alike with and without a filter.
/// </summary>
public sealed class MathFolderAndFilterTests
{
    [Theory]
    [InlineData("MATH.zip")]
    [InlineData("MATH-release.zip")]
    public async Task AFolderHoldingTheReleaseZipIsReadThroughTheZip(string name)
    {
        using var temp = new TempDirectory();
        TinyDialogueFiles.MathTree(temp.Combine("release"), perType: 5);
        string folder = temp.Combine("download");
        Directory.CreateDirectory(folder);
        string zip = Path.Combine(folder, name);
        ZipFile.CreateFromDirectory(temp.Combine("release"), zip);
        var source = await DialogueSource.FromDirectoryAsync(DialogueDataset.Math(), folder);
        Assert.Equal([$"{zip}!MATH/train"], source.TrainFiles);
        Assert.Equal([$"{zip}!MATH/test"], source.TestFiles);
        using var corpus = await DialogueCorpus.LoadAsync(source, temp.Combine("cache"));
        Assert.Equal((10, 4), (corpus.Train.Count, corpus.Test.Count));

        // MATH.zip is the release's name, chosen beside another MATH*.zip; two others leave the folder ambiguous.
        ZipFile.CreateFromDirectory(temp.Combine("release"), Path.Combine(folder, "MATH-copy.zip"));
        if (name == "MATH.zip")
        {
            Assert.Equal([$"{zip}!MATH/train"], (await DialogueSource.FromDirectoryAsync(DialogueDataset.Math(), folder)).TrainFiles);
        }
        else
        {
            var e = await Assert.ThrowsAsync<FileNotFoundException>(() => DialogueSource.FromDirectoryAsync(DialogueDataset.Math(), folder));
            Assert.Contains("holds no data/train-*.parquet", e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task AFilterThatLeavesNoRowsIsNamed()
    {
        using var temp = new TempDirectory();
        string math = TinyDialogueFiles.MathTree(temp.Combine("release"), perType: 5); // algebra and counting_and_probability only
        var source = await DialogueSource.FromDirectoryAsync(DialogueDataset.Math(MathFormat.Parse("1", "prealgebra")), math);
        var e = await Assert.ThrowsAsync<InvalidDataException>(() => DialogueCorpus.LoadAsync(source, temp.Combine("cache")));
        Assert.Equal($"MATH (levels 1; types prealgebra) from {math} gives 0 training and 0 test dialogues: the MATH filter 'levels 1; types prealgebra' leaves no training rows in {math}. Choose a filter that rows of these files pass.", e.Message);

        // Rows the filter keeps for training but not for testing: the test split is named.
        foreach (string file in Directory.EnumerateFiles(Path.Combine(math, "test", "algebra")))
        {
            File.WriteAllText(file, File.ReadAllText(file).Replace("\"Level 1\"", "\"Level 2\"", StringComparison.Ordinal));
        }

        source = await DialogueSource.FromDirectoryAsync(DialogueDataset.Math(MathFormat.Parse("1", "algebra")), math);
        e = await Assert.ThrowsAsync<InvalidDataException>(() => DialogueCorpus.LoadAsync(source, temp.Combine("cache")));
        Assert.Contains("the MATH filter 'levels 1; types algebra' leaves no test rows in", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("MaxSamples", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("3", "a number")]
    [InlineData("null", null)]
    [InlineData("[\"Level 3\"]", "a list")]
    public async Task ALevelThatIsNotAStringIsRefusedWithAndWithoutAFilter(string level, string? kind)
    {
        using var temp = new TempDirectory();
        string math = TinyDialogueFiles.MathTree(temp.Combine("release"), perType: 5);
        string file = Path.Combine(math, "train", "algebra", "7.json");
        File.WriteAllText(file, $"{{\"problem\": \"p\", \"level\": {level}, \"type\": \"Algebra\", \"solution\": \"s\"}}");
        foreach (var format in new[] { MathFormat.All, MathFormat.Parse("1,2,3", null) })
        {
            var source = await DialogueSource.FromDirectoryAsync(DialogueDataset.Math(format), math);
            var e = await Assert.ThrowsAsync<InvalidDataException>(() => DialogueCorpus.LoadAsync(source, temp.Combine("cache")));
            Assert.Equal(
                kind is null ? $"'{file}': the row has no 'level' string (its fields: problem, level, type, solution)." : $"'{file}': 'level' is {kind}, not a string.",
                e.Message);
        }
    }
}
