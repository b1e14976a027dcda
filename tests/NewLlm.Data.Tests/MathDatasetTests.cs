using System.Security.Cryptography;
using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using NewLlm.Data.Tests.Infrastructure;
using NewLlm.Tests;
using Parquet.Serialization;

namespace NewLlm.Data.Tests;

/// <summary>
/// MATH on files the tests write (made-up problems) in each published layout, each loaded end to end: the Hub's Parquet
/// files, the original release's tree as a folder and as a zip read in place; row order, text, the level and type
/// filter, fingerprints, the Hub, and the bad inputs (malformed files, a zip entry that inflates past its declared size).
/// </summary>
public sealed class MathDatasetTests
{
    [Fact]
    public async Task TheTreeIsReadInTypeThenNumberOrderFromItsParentFromMathItselfAndFromAZip()
    {
        using var temp = new TempDirectory();
        string math = TinyDialogueFiles.MathTree(temp.Combine("release"), perType: 10);
        File.WriteAllText(Path.Combine(math, "train", "algebra", "._7.json"), "macOS metadata, not JSON");
        var fromParent = await DialogueSource.FromDirectoryAsync(DialogueDataset.Math(), temp.Combine("release"));
        var fromMath = await DialogueSource.FromDirectoryAsync(DialogueDataset.Math(), math);
        Assert.Equal([Path.Combine(math, "train")], fromParent.TrainFiles);
        Assert.Equal([Path.Combine(math, "test")], fromParent.TestFiles);
        Assert.Equal(fromParent.TrainFiles, fromMath.TrainFiles);

        // Type folders in ordinal order, files by their number (7 before 14 before 63).
        var rows = await SourceFiles.ReadIndexedAsync(fromMath.TrainFiles[0], MathFormat.All, null, RowLimit.Default, default).ToListAsync();
        Assert.Equal(20, rows.Count);
        Assert.Equal(
            [.. Enumerable.Range(0, 10).Select(n => Path.Combine(math, "train", "algebra", $"{n * 7}.json")), .. Enumerable.Range(0, 10).Select(n => Path.Combine(math, "train", "counting_and_probability", $"{n * 7}.json"))],
            rows.Select(r => r.Row.Location.File));
        Assert.Equal($"'{rows[1].Row.Location.File}'", rows[1].Row.Location.ToString());
        string text = MathFormat.All.Read(rows[1].Row)!.Value.Text;
        Assert.Matches("^Problem: What is 1 plus [a-z ]+\\?\n\nGive \\$x\\$\\. Solution: It is \\$\\\\boxed\\{1\\}\\$\\.\n$", text);

        string zip = temp.Combine("MATH.zip");
        ZipFile.CreateFromDirectory(temp.Combine("release"), zip);
        var fromZip = await DialogueSource.FromDirectoryAsync(DialogueDataset.Math(), zip);
        Assert.Equal([$"{zip}!MATH/train"], fromZip.TrainFiles);
        var zipRows = await SourceFiles.ReadIndexedAsync(fromZip.TrainFiles[0], MathFormat.All, null, RowLimit.Default, default).ToListAsync();
        Assert.Equal(rows.Select(r => r.Row.Fields.ToJsonString()), zipRows.Select(r => r.Row.Fields.ToJsonString()));
        Assert.Equal($"'{zip}' entry 'MATH/train/algebra/7.json'", zipRows[1].Row.Location.ToString());

        using var folderCorpus = await DialogueCorpus.LoadAsync(fromParent, temp.Combine("cache"), new DialogueCorpusOptions { MaxSequenceLength = 64 });
        using var zipCorpus = await DialogueCorpus.LoadAsync(fromZip, temp.Combine("cache"), new DialogueCorpusOptions { MaxSequenceLength = 64 }, folderCorpus.Tokenizer);
        Assert.Equal((20, 10), (folderCorpus.Train.Count, folderCorpus.Test.Count));
        Assert.Equal((20, 10), (zipCorpus.Train.Count, zipCorpus.Test.Count));
        for (int i = 0; i < 20; i++)
        {
            Assert.Equal(folderCorpus.Train.GetTokens(i).ToArray(), zipCorpus.Train.GetTokens(i).ToArray());
        }

        Assert.Equal((200, "new_llm_math", true, true), (DialogueDataset.Math().DefaultEpochs, DialogueDataset.Math().ModelName, DialogueDataset.Math().HasTestSplit, DialogueDataset.Math().KeepsWhitespace));
    }

    [Fact]
    public async Task FingerprintsAreStableAndChangeWithAnyFile()
    {
        using var temp = new TempDirectory();
        string math = TinyDialogueFiles.MathTree(temp.Combine("release"), perType: 5);
        string zip = temp.Combine("MATH.zip");
        ZipFile.CreateFromDirectory(temp.Combine("release"), zip);
        async Task<string> ChecksumAsync(string path)
        {
            using var corpus = await DialogueCorpus.LoadAsync(await DialogueSource.FromDirectoryAsync(DialogueDataset.Math(), path), temp.Combine("cache"));
            return corpus.SourceChecksum;
        }

        string folder = await ChecksumAsync(math);
        string zipped = await ChecksumAsync(zip);
        Assert.Equal(folder, await ChecksumAsync(math));
        Assert.Equal(zipped, await ChecksumAsync(zip));

        string file = Path.Combine(math, "train", "counting_and_probability", "14.json");
        File.WriteAllText(file, File.ReadAllText(file).Replace("Level", "level", StringComparison.Ordinal));
        string edited = await ChecksumAsync(math);
        Assert.NotEqual(folder, edited);
        File.Move(Path.Combine(math, "train", "algebra", "7.json"), Path.Combine(math, "train", "algebra", "8.json"));
        Assert.NotEqual(edited, await ChecksumAsync(math));

        File.Delete(zip);
        ZipFile.CreateFromDirectory(temp.Combine("release"), zip);
        Assert.NotEqual(zipped, await ChecksumAsync(zip));
    }

    [Fact]
    public async Task LevelAndTypeFiltersLeaveTheOtherRowsOutAndAreInTheKey()
    {
        using var temp = new TempDirectory();
        string math = TinyDialogueFiles.MathTree(temp.Path, perType: 10);
        File.WriteAllText(Path.Combine(math, "train", "algebra", "1000.json"), TinyDialogueFiles.MathProblem("unknown level", 1, "Algebra", "s").Replace("Level 1", "Level ?", StringComparison.Ordinal));
        var all = await DialogueCorpus.LoadAsync(await DialogueSource.FromDirectoryAsync(DialogueDataset.Math(), math), temp.Combine("cache"));
        var easyAlgebra = DialogueDataset.Math(MathFormat.Parse("2,1", "ALGEBRA"));
        Assert.Equal("MATH (levels 1,2; types algebra)", easyAlgebra.DisplayName);
        var filtered = await DialogueCorpus.LoadAsync(await DialogueSource.FromDirectoryAsync(easyAlgebra, math), temp.Combine("cache"));
        Assert.Equal((21, 10), (all.Train.Count, all.Test.Count));
        Assert.Equal((4, 2), (filtered.Train.Count, filtered.Test.Count)); // levels cycle 1..5: problems 0, 1, 5, 6 (train) and 0, 1 (test)
        Assert.NotEqual(all.SourceChecksum, filtered.SourceChecksum);
        var words = (WordLevelTokenizer)filtered.Tokenizer;
        Assert.DoesNotContain("unknown", words.Words);
        all.Dispose();
        filtered.Dispose();

        var counting = DialogueDataset.Math(new MathFormat([5], ["Counting & Probability"]));
        using var hard = await DialogueCorpus.LoadAsync(await DialogueSource.FromDirectoryAsync(counting, math), temp.Combine("cache"));
        Assert.Equal((2, 1), (hard.Train.Count, hard.Test.Count));
    }

    [Theory]
    [InlineData("1,6", null, "'6' is not a MATH level; the levels are 1 to 5 (for example 1,2).")]
    [InlineData(null, "algebra,algebr", "'algebr' is not a MATH type; the types are algebra, counting_and_probability, geometry, intermediate_algebra, number_theory, prealgebra, precalculus.")]
    [InlineData("x", null, "'x' is not a MATH level")]
    public void ATypoInAFilterIsRefusedWithTheValidNames(string? levels, string? types, string message)
    {
        var e = Assert.Throws<FormatException>(() => MathFormat.Parse(levels, types));
        Assert.StartsWith(message, e.Message, StringComparison.Ordinal);
        Assert.Equal(["counting_and_probability", "number_theory"], MathFormat.Parse(" 3 ", "Number Theory, counting-and-probability").Types);
        Assert.Equal("math", DialogueDataset.Parse("competition_math").Name);
        Assert.Equal("math", DialogueDataset.Parse("hendrycks/competition_math").Name);
    }

    [Fact]
    public async Task TheHubsParquetFilesAreListedDownloadedAndFiltered()
    {
        using var temp = new TempDirectory();
        byte[] train = await ParquetAsync(temp.Combine("train.parquet"), Enumerable.Range(0, 30).Select(i => Row(i, (i % 5) + 1)));
        byte[] test = await ParquetAsync(temp.Combine("test.parquet"), Enumerable.Range(0, 10).Select(i => Row(100 + i, (i % 5) + 1)));
        static object Entry(string path, byte[] bytes) =>
            new { type = "file", oid = new string('e', 40), size = bytes.Length, path, lfs = new { oid = Convert.ToHexStringLower(SHA256.HashData(bytes)), size = bytes.Length, pointerSize = 134 } };
        using var server = new LocalHttpServer((path, _) => path switch
        {
            "/api/datasets/hendrycks/competition_math/tree/main/data?recursive=true" => new ServerResponse(200, JsonSerializer.SerializeToUtf8Bytes(new[]
            {
                Entry("data/test-00000-of-00001.parquet", test), Entry("data/train-00000-of-00001.parquet", train),
            })),
            "/datasets/hendrycks/competition_math/resolve/main/data/train-00000-of-00001.parquet" => new ServerResponse(200, train),
            "/datasets/hendrycks/competition_math/resolve/main/data/test-00000-of-00001.parquet" => new ServerResponse(200, test),
            _ => new ServerResponse(404, []),
        });
        var source = await DialogueSource.FromHubAsync(DialogueDataset.Math(MathFormat.Parse("1,2", null)), server.HubOptions(temp, maxRetries: 0));
        using var corpus = await DialogueCorpus.LoadAsync(source, temp.Combine("tokens"));
        Assert.Equal((12, 4), (corpus.Train.Count, corpus.Test.Count));

        // The same files in a local folder of the Hub's layout.
        Directory.CreateDirectory(temp.Combine("local", "data"));
        File.Copy(source.TrainFiles[0], temp.Combine("local", "data", "train-00000-of-00001.parquet"));
        File.Copy(source.TestFiles[0], temp.Combine("local", "data", "test-00000-of-00001.parquet"));
        using var local = await DialogueCorpus.LoadAsync(await DialogueSource.FromDirectoryAsync(DialogueDataset.Math(), temp.Combine("local")), temp.Combine("tokens"));
        Assert.Equal((30, 10), (local.Train.Count, local.Test.Count));
        Assert.Equal(SHA256.HashData(train), SHA256.HashData(File.ReadAllBytes(source.TrainFiles[0])));
    }

    [Theory]
    [InlineData("{\"problem\": \"p\", \"level\": \"Level 1\", \"type\": \"Algebra\", \"solution\": 4}", "'solution' is a number, not a string.")]
    [InlineData("{\"level\": \"Level 1\", \"type\": \"Algebra\", \"solution\": \"s\"}", "the row has no 'problem' string")]
    [InlineData("{\"problem\": \"p\", \"level\": ", "malformed JSON: the JSON ends inside an element")]
    [InlineData("{\"problem\": \"p\", \"level\": 3, \"type\": \"Algebra\", \"solution\": \"s\"}", "'level' is a number, not a string.")]
    [InlineData("[1]", "expected a JSON object, found a list.")]
    public async Task AMalformedFileIsRefusedNamingTheFileOrZipEntry(string content, string message)
    {
        using var temp = new TempDirectory();
        string math = TinyDialogueFiles.MathTree(temp.Combine("release"), perType: 3);
        File.WriteAllText(Path.Combine(math, "test", "algebra", "7.json"), content);
        var e = await Assert.ThrowsAsync<InvalidDataException>(async () => await DialogueCorpus.LoadAsync(
            await DialogueSource.FromDirectoryAsync(DialogueDataset.Math(), math), temp.Combine("cache")));
        Assert.StartsWith($"'{Path.Combine(math, "test", "algebra", "7.json")}': {message}", e.Message, StringComparison.Ordinal);

        string zip = temp.Combine("MATH.zip");
        ZipFile.CreateFromDirectory(temp.Combine("release"), zip);
        e = await Assert.ThrowsAsync<InvalidDataException>(async () => await DialogueCorpus.LoadAsync(
            await DialogueSource.FromDirectoryAsync(DialogueDataset.Math(), zip), temp.Combine("cache")));
        Assert.StartsWith($"'{zip}' entry 'MATH/test/algebra/7.json': {message}", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AZipEntryThatInflatesPastItsDeclaredSizeOrDeclaresTooMuchIsRefused()
    {
        using var temp = new TempDirectory();
        string zip = temp.Combine("MATH.zip");
        string bomb = TinyDialogueFiles.MathProblem(new string('9', 500_000), 1, "Algebra", "s");
        using (var archive = ZipFile.Open(zip, ZipArchiveMode.Create))
        {
            foreach (var (name, text) in new[] { ("MATH/train/algebra/1.json", bomb), ("MATH/test/algebra/1.json", TinyDialogueFiles.MathProblem("p", 1, "Algebra", "s")) })
            {
                await using var stream = archive.CreateEntry(name, CompressionLevel.SmallestSize).Open();
                await stream.WriteAsync(Encoding.UTF8.GetBytes(text));
            }
        }

        // Declared: 1,000 bytes (in the local header and the central directory); inflated: about 500 KB.
        byte[] bytes = File.ReadAllBytes(zip);
        Patch(bytes, [0x50, 0x4b, 0x03, 0x04], 22);
        Patch(bytes, [0x50, 0x4b, 0x01, 0x02], 24);
        File.WriteAllBytes(zip, bytes);
        var source = await DialogueSource.FromDirectoryAsync(DialogueDataset.Math(), zip);
        var e = await Assert.ThrowsAsync<InvalidDataException>(() => DialogueCorpus.LoadAsync(source, temp.Combine("cache")));
        Assert.StartsWith($"'{zip}' entry 'MATH/train/algebra/1.json': the entry's first 1000 bytes (its declared length) do not match its CRC-32", e.Message, StringComparison.Ordinal);

        // A declared size over the row limit is refused before anything is inflated.
        File.Delete(zip);
        using (var archive = ZipFile.Open(zip, ZipArchiveMode.Create))
        {
            archive.CreateEntryFromFile(Path.Combine(TinyDialogueFiles.MathTree(temp.Path, 1), "test", "algebra", "0.json"), "MATH/test/algebra/0.json");
            await using var stream = archive.CreateEntry("MATH/train/algebra/0.json").Open();
            await stream.WriteAsync(Encoding.UTF8.GetBytes(bomb));
        }

        e = await Assert.ThrowsAsync<InvalidDataException>(async () => await DialogueCorpus.LoadAsync(
            await DialogueSource.FromDirectoryAsync(DialogueDataset.Math(), zip), temp.Combine("cache"), new DialogueCorpusOptions { MaxRowBytes = 100_000 }));
        Assert.StartsWith($"'{zip}' entry 'MATH/train/algebra/0.json': the row is {Encoding.UTF8.GetByteCount(bomb)} bytes, over the limit of 100000", e.Message, StringComparison.Ordinal);

        static void Patch(byte[] bytes, byte[] signature, int offset)
        {
            int at = bytes.AsSpan().IndexOf(signature); // the first entry's header
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(at + offset), 1000);
        }
    }

    [Fact]
    public async Task AZipThatDeclaresTooManyEntriesOrIsNoZipIsRefusedBeforeItsEntriesAreRead()
    {
        using var temp = new TempDirectory();
        string zip = temp.Combine("MATH.zip");

        // A Zip64 end record declaring a billion entries, its locator, and the classic end record pointing at them.
        byte[] bytes = new byte[56 + 20 + 22];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, 0x06064b50);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(32), 1_000_000_000);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(56), 0x07064b50);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(56 + 8), 0);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(76), 0x06054b50);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(76 + 10), ushort.MaxValue);
        File.WriteAllBytes(zip, bytes);
        var e = await Assert.ThrowsAsync<InvalidDataException>(() => DialogueSource.FromDirectoryAsync(DialogueDataset.Math(), zip));
        Assert.Equal($"'{zip}' declares 1000000000 entries, more than the 200000 a data set's zip may have; it is not the data set's archive.", e.Message);

        File.WriteAllText(zip, "not a zip");
        e = await Assert.ThrowsAsync<InvalidDataException>(() => DialogueSource.FromDirectoryAsync(DialogueDataset.Math(), zip));
        Assert.StartsWith($"'{zip}' is not a readable zip file (", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AFolderWithoutEitherLayoutSaysWhatMathNeeds()
    {
        using var temp = new TempDirectory();
        Directory.CreateDirectory(temp.Combine("MATH", "train", "algebra"));
        File.WriteAllText(temp.Combine("MATH", "train", "algebra", "1.json"), TinyDialogueFiles.MathProblem("p", 1, "Algebra", "s"));
        var e = await Assert.ThrowsAsync<FileNotFoundException>(() => DialogueSource.FromDirectoryAsync(DialogueDataset.Math(), temp.Path));
        Assert.Contains("holds MATH's train/ folder but no test/<type>/<n>.json files", e.Message, StringComparison.Ordinal);
        Directory.Delete(temp.Combine("MATH"), recursive: true);
        e = await Assert.ThrowsAsync<FileNotFoundException>(() => DialogueSource.FromDirectoryAsync(DialogueDataset.Math(), temp.Path));
        Assert.Contains("data/train-*.parquet", e.Message, StringComparison.Ordinal);
        Assert.Contains("MATH/train/<type>/<n>.json", e.Message, StringComparison.Ordinal);
    }

    private static MathRow Row(int i, int level) => new() { problem = $"problem {i}", level = $"Level {level}", type = i % 2 == 0 ? "Algebra" : "Geometry", solution = $"$\\boxed{{{i}}}$" };

    private static async Task<byte[]> ParquetAsync(string path, IEnumerable<MathRow> rows)
    {
        await ParquetSerializer.SerializeAsync(rows.ToList(), path);
        return File.ReadAllBytes(path);
    }

#pragma warning disable IDE1006, SA1300 // the columns are named as in the data set
    public sealed class MathRow
    {
        public string problem { get; set; } = string.Empty;

        public string level { get; set; } = string.Empty;

        public string type { get; set; } = string.Empty;

        public string solution { get; set; } = string.Empty;
    }
#pragma warning restore IDE1006, SA1300
}
