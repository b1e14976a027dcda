using System.IO.Compression;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using NewLlm.Data.Tests.Infrastructure;
using NewLlm.Tests;

namespace NewLlm.Data.Tests;

/// <summary>
/// The general dialogue source on small synthetic files in each set's layout (rows written for the tests, never rows of
/// the real sets): the texts the original builds, its split, its vocabulary rule, MaxSamples, mixtures, the cache, a
/// given vocabulary's coverage, and the bad-input set.
/// </summary>
public sealed class DialogueCorpusTests
{
    private static readonly string[] Words = ["apple", "river", "green", "stone", "light", "cloud", "paper", "music", "bread", "glass", "tiger", "ocean"];

    [Fact]
    public async Task DollyRowsBecomeTheOriginalsTextSplitAndVocabulary()
    {
        using var temp = new TempDirectory();
        var rows = DollyRows(30);
        WriteJsonLines(temp.Combine("databricks-dolly-15k.jsonl"), rows);
        var source = await DialogueSource.FromDirectoryAsync(DialogueDataset.Dolly, temp.Path);
        Assert.Single(source.TrainFiles);
        Assert.Empty(source.TestFiles);

        using var corpus = await DialogueCorpus.LoadAsync(source, temp.Combine("cache"), new DialogueCorpusOptions { MaxSequenceLength = 64 });

        // The split of datasets' train_test_split(test_size=0.1, seed=42); rows keep their file order in each corpus.
        var (trainOrder, testOrder) = DatasetSplit.TrainTestSplit(30);
        Assert.Equal((27, 3), (corpus.Train.Count, corpus.Test.Count));
        string[] texts = [.. rows.Select(DollyText)];
        var tokenizer = Assert.IsType<WordLevelTokenizer>(corpus.Tokenizer);

        // The vocabulary: the parts without prefixes, in the training order of the split (first seen first among ties).
        var expected = WordLevelTokenizer.Build(trainOrder.Select(i => DollyVocabularyText(rows[i])));
        Assert.Equal(expected.Words, tokenizer.Words);
        Assert.DoesNotContain("instruction:", tokenizer.Words); // the prefixes are not counted, as in the original
        Assert.Equal(tokenizer.UnkId, tokenizer.GetId("Instruction:"));

        int[] trainRows = [.. trainOrder.Order()];
        int[] testRows = [.. testOrder.Order()];
        for (int i = 0; i < trainRows.Length; i++)
        {
            Assert.Equal(Encoded(tokenizer, texts[trainRows[i]], 64), corpus.Train.GetTokens(i).ToArray());
        }

        for (int i = 0; i < testRows.Length; i++)
        {
            Assert.Equal(Encoded(tokenizer, texts[testRows[i]], 64), corpus.Test.GetTokens(i).ToArray());
        }

        Assert.True(corpus.Train.IsMemoryMapped);
    }

    [Theory]
    [InlineData("a question", "", "an answer", "Instruction: a question Response: an answer", "a question an answer")]
    [InlineData("q", " \n\t", "r", "Instruction: q Response: r", "q r")]
    [InlineData("q\n\nline two", "some  context", "r", "Instruction: q line two Context: some context Response: r", "q\n\nline two some  context r")]
    public void DollyFormatIsTheOriginals(string instruction, string context, string response, string text, string vocabulary)
    {
        var row = Row(new { instruction, context, response, category = "open_qa" });
        Assert.Equal(new DialogueText(text, vocabulary), DollyFormat.Instance.Read(row));
    }

    [Fact]
    public async Task UltraChatTurnsAreJoinedSplitAcrossFilesAndCutByMaxSamples()
    {
        using var temp = new TempDirectory();
        var dialogues = Enumerable.Range(0, 50).Select(i => new[] { $"Question {Words[i % 12]} {i}?", $"  Answer\n{Words[(i * 5) % 12]}   {i}." }).ToList();
        WriteJsonLines(temp.Combine("train_0.jsonl"), dialogues.Take(30).Select((d, i) => (object)new { id = $"{i}", data = d }));
        WriteJsonLines(temp.Combine("train_1.jsonl"), dialogues.Skip(30).Select((d, i) => (object)new { id = $"{i + 30}", data = d }));
        var source = await DialogueSource.FromDirectoryAsync(DialogueDataset.UltraChat, temp.Path);
        Assert.Equal(["train_0.jsonl", "train_1.jsonl"], source.TrainFiles.Select(Path.GetFileName));

        using var corpus = await DialogueCorpus.LoadAsync(source, temp.Combine("cache"), new DialogueCorpusOptions { MaxSamples = 20, MaxSequenceLength = 32 });

        // --max_samples 20: the first 20 training rows and the first 20 // 10 = 2 test rows of the split of all 50.
        var (trainOrder, testOrder) = DatasetSplit.TrainTestSplit(50);
        var tokenizer = (WordLevelTokenizer)corpus.Tokenizer;
        string Text(int i) => PythonText.NormalizeWhitespace(string.Join(" ", dialogues[i]));
        Assert.Equal(trainOrder[..20].Order().Select(i => Encoded(tokenizer, Text(i), 32)), Enumerable.Range(0, 20).Select(i => corpus.Train.GetTokens(i).ToArray()));
        Assert.Equal(testOrder[..2].Order().Select(i => Encoded(tokenizer, Text(i), 32)), Enumerable.Range(0, 2).Select(i => corpus.Test.GetTokens(i).ToArray()));
        Assert.Equal(WordLevelTokenizer.Build(trainOrder[..20].Select(Text)).Words, tokenizer.Words);
    }

    [Fact]
    public void TurnListsTakeStringsOrContentAndSkipDialoguesWithoutTurns()
    {
        var format = new TurnListFormat();
        Assert.Equal("a b c", format.Read(Row(new { data = new object[] { "a", new { content = "b" }, new { text = "c" } } }))?.Text);
        Assert.Null(format.Read(Row(new { data = Array.Empty<string>() })));
        var e = Assert.Throws<InvalidDataException>(() => format.Read(Row(new { data = new object[] { "a", 5 } })));
        Assert.Equal("'f.jsonl' line 7: turn 1 of 'data' is a number; a turn is a string or an object with a 'content' or 'text' string.", e.Message);
    }

    [Fact]
    public void ChatMessagesShowTheRolesOrOnlyTheContents()
    {
        var row = Row(new { messages = new[] { new { role = "user", content = "Hi  there" }, new { role = "assistant", content = "Hello." }, new { role = "tool", content = "x" } } });
        Assert.Equal("User: Hi there Assistant: Hello. Tool: x", new ChatMessagesFormat().Read(row)?.Text);
        Assert.Equal("Hi there Hello. x", new ChatMessagesFormat(includeRoles: false).Read(row)?.Text);
        var e = Assert.Throws<InvalidDataException>(() => new ChatMessagesFormat().Read(Row(new { messages = new[] { new { role = "user" } } })));
        Assert.Equal("'f.jsonl' line 7: message 0 of 'messages' has no 'content' string (its fields: role).", e.Message);
    }

    [Theory]
    [InlineData("{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}", "User: hi")]
    [InlineData("{\"text\": \"plain  text\"}", "plain text")]
    [InlineData("{\"chosen\": \"good\", \"rejected\": \"bad\"}", "good")]
    public async Task YourJsonLinesFormatIsToldByTheFirstRowAndASingleFileIsSplit(string line, string text)
    {
        using var temp = new TempDirectory();
        string file = temp.Combine("mine.jsonl");
        File.WriteAllText(file, string.Concat(Enumerable.Repeat(line + "\n", 12)));
        var source = await DialogueSource.FromDirectoryAsync(DialogueDataset.JsonLines(), file);
        using var corpus = await DialogueCorpus.LoadAsync(source, temp.Combine("cache"), new DialogueCorpusOptions { MaxSequenceLength = 8 });
        Assert.Equal((10, 2), (corpus.Train.Count, corpus.Test.Count));
        Assert.Equal(Encoded(corpus.Tokenizer, text, 8), corpus.Train.GetTokens(0).ToArray());
    }

    [Fact]
    public async Task AFolderWithTrainAndTestFilesIsNotSplitAndHhRlhfTrainsOnChosen()
    {
        using var temp = new TempDirectory();
        Fixtures.WriteSubset(temp.Path, "harmless-base", "train", Fixtures.JsonLines(Fixtures.Dialogues));
        Fixtures.WriteSubset(temp.Path, "harmless-base", "test", Fixtures.JsonLines(Fixtures.Dialogues[..1]));
        var source = await DialogueSource.FromDirectoryAsync(DialogueDataset.HhRlhf(HhRlhfSubset.Harmless), temp.Path);
        using var corpus = await DialogueCorpus.LoadAsync(source, temp.Combine("cache"));
        Assert.Equal((3, 1), (corpus.Train.Count, corpus.Test.Count));

        // The same vocabulary and rows as the HH-RLHF loader builds.
        var dataset = await HhRlhfDataset.LoadFromDirectoryAsync(temp.Path, HhRlhfSubset.Harmless, HhRlhfSplit.Train);
        var expected = WordLevelTokenizer.Build(dataset.GetNormalizedChosenTexts());
        Assert.Equal(expected.Fingerprint, corpus.Tokenizer.Fingerprint);
        using var built = TokenizedCorpus.Build(dataset.GetNormalizedChosenTexts(), expected, new TokenizedCorpusOptions());
        Assert.Equal(Enumerable.Range(0, 3).Select(i => built.GetTokens(i).ToArray()), Enumerable.Range(0, 3).Select(i => corpus.Train.GetTokens(i).ToArray()));
    }

    [Theory]
    [InlineData(HhRlhfSubset.Harmless)]
    [InlineData(HhRlhfSubset.All)]
    public async Task AnHhRlhfFolderGivesTheSameChecksumAndCacheEntryThroughHhRlhfDatasetAndDialogueCorpus(HhRlhfSubset subset)
    {
        using var temp = new TempDirectory();
        foreach (var single in HhRlhfLayout.Expand(subset))
        {
            Fixtures.WriteSubset(temp.Path, HhRlhfLayout.GetDirectoryName(single), "train", Fixtures.JsonLines(Fixtures.Dialogues));
            Fixtures.WriteSubset(temp.Path, HhRlhfLayout.GetDirectoryName(single), "test", Fixtures.JsonLines(Fixtures.Dialogues[..1]));
        }

        string cache = temp.Combine("cache");
        var source = await DialogueSource.FromDirectoryAsync(DialogueDataset.HhRlhf(subset), temp.Path);
        using var corpus = await DialogueCorpus.LoadAsync(source, cache);
        var train = await HhRlhfDataset.LoadFromDirectoryAsync(temp.Path, subset, HhRlhfSplit.Train);
        var test = await HhRlhfDataset.LoadFromDirectoryAsync(temp.Path, subset, HhRlhfSplit.Test);
        Assert.Equal(train.SourceChecksum, corpus.SourceChecksum);

        // Both splits' token caches are the ones DialogueCorpus wrote: read, not written again.
        string[] files = [.. Directory.EnumerateFiles(cache).Order(StringComparer.Ordinal)];
        var logger = new ListLogger();
        var options = new TokenizedCorpusOptions { MaxSequenceLength = corpus.Train.SequenceLength };
        using var trainCorpus = await TokenizedCorpus.LoadOrBuildAsync(train, corpus.Tokenizer, options, cache, logger);
        using var testCorpus = await TokenizedCorpus.LoadOrBuildAsync(test, corpus.Tokenizer, options, cache, logger);
        Assert.Equal(files, Directory.EnumerateFiles(cache).Order(StringComparer.Ordinal));
        Assert.Equal(2, logger.Entries.Count(e => e.Message.StartsWith("Loaded tokenized corpus", StringComparison.Ordinal)));
        Assert.Equal((corpus.Train.Count, corpus.Test.Count), (trainCorpus.Count, testCorpus.Count));
    }

    [Fact]
    public async Task ASecondLoadReadsTheCachesAndOtherSettingsBuildOthers()
    {
        using var temp = new TempDirectory();
        WriteJsonLines(temp.Combine("databricks-dolly-15k.jsonl"), DollyRows(20));
        var source = await DialogueSource.FromDirectoryAsync(DialogueDataset.Dolly, temp.Path);
        string cache = temp.Combine("cache");
        int[][] first;
        using (var corpus = await DialogueCorpus.LoadAsync(source, cache))
        {
            first = [.. Enumerable.Range(0, corpus.Train.Count).Select(i => corpus.Train.GetTokens(i).ToArray())];
        }

        var logger = new ListLogger();
        using (var again = await DialogueCorpus.LoadAsync(source, cache, logger: logger))
        {
            Assert.Equal(first, Enumerable.Range(0, again.Train.Count).Select(i => again.Train.GetTokens(i).ToArray()));
        }

        Assert.Contains(logger.Entries, e => e.Message.StartsWith("Loaded the vocabulary from cache", StringComparison.Ordinal));
        Assert.Equal(2, logger.Entries.Count(e => e.Message.StartsWith("Loaded tokenized corpus", StringComparison.Ordinal)));
        Assert.DoesNotContain(logger.Entries, e => e.Message.StartsWith("Tokenized", StringComparison.Ordinal));

        using var other = await DialogueCorpus.LoadAsync(source, cache, new DialogueCorpusOptions { SplitSeed = 7 });
        Assert.NotEqual(first.Length == other.Train.Count ? first : [], Enumerable.Range(0, other.Train.Count).Select(i => other.Train.GetTokens(i).ToArray()));
    }

    [Fact]
    public async Task AMixtureKeepsItsSharesAndRecordsItsParts()
    {
        using var temp = new TempDirectory();
        Directory.CreateDirectory(temp.Combine("dolly"));
        Directory.CreateDirectory(temp.Combine("chat"));
        WriteJsonLines(temp.Combine("dolly", "databricks-dolly-15k.jsonl"), DollyRows(100));
        WriteJsonLines(temp.Combine("chat", "train_0.jsonl"), Enumerable.Range(0, 30).Select(i => (object)new { id = $"{i}", data = new[] { $"chat {Words[i % 12]}", "reply" } }));
        var dolly = await DialogueSource.FromDirectoryAsync(DialogueDataset.Dolly, temp.Combine("dolly"));
        var chat = await DialogueSource.FromDirectoryAsync(DialogueDataset.UltraChat, temp.Combine("chat"));

        // 80% chat, 20% Dolly: chat has 27 training rows, so the largest such mixture is floor(27 / 0.8) = 33 rows (26 + 7).
        using var mixed = await DialogueCorpus.LoadMixtureAsync([new(chat, 0.8), new(dolly, 0.2)], temp.Combine("cache"));
        Assert.Equal(26 + 7, mixed.Train.Count);
        Assert.Contains("80 % UltraChat", mixed.Description.Replace("80%", "80 %", StringComparison.Ordinal), StringComparison.Ordinal);

        using var capped = await DialogueCorpus.LoadMixtureAsync([new(chat, 4), new(dolly, 1)], temp.Combine("cache"), new DialogueCorpusOptions { MaxSamples = 20 });
        Assert.Equal((16 + 4, 2), (capped.Train.Count, capped.Test.Count));
        Assert.NotEqual(mixed.SourceChecksum, capped.SourceChecksum);
    }

    [Fact]
    public async Task AGivenVocabularyIsUsedAndItsUnknownRateIsComparedWithARebuiltOne()
    {
        using var temp = new TempDirectory();
        WriteJsonLines(temp.Combine("databricks-dolly-15k.jsonl"), DollyRows(40));
        var source = await DialogueSource.FromDirectoryAsync(DialogueDataset.Dolly, temp.Path);
        var old = WordLevelTokenizer.FromWords(["the", "a", "apple"], 1000); // a vocabulary from another level
        var logger = new ListLogger();
        using var corpus = await DialogueCorpus.LoadAsync(source, temp.Combine("cache"), tokenizer: old, logger: logger);
        Assert.Same(old, corpus.Tokenizer);
        var coverage = Assert.IsType<VocabularyCoverage>(corpus.Coverage);
        Assert.True(coverage.UnknownRate > 0.5 && coverage.RebuiltUnknownRate == 0, $"{coverage}");
        var warning = Assert.Single(logger.Entries, e => e.Level == LogLevel.Warning);
        Assert.Contains("unknown (<unk>)", warning.Message, StringComparison.Ordinal);

        // A GPT-2 tokenizer knows every byte: no coverage to report.
        using var gpt2 = await DialogueCorpus.LoadAsync(source, temp.Combine("cache"), tokenizer: Gpt2DialogueTokenizer.Create());
        Assert.Null(gpt2.Coverage);
    }

    private static byte[] GoodRows => Encoding.UTF8.GetBytes(string.Concat(Enumerable.Range(0, 12).Select(i => $"{{\"data\": [\"row {i}\"]}}\n")));

    public static TheoryData<string, byte[], string> BadFiles() => new()
    {
        { "train_0.jsonl", [], "'{0}' is empty (0 bytes); it holds no rows." },
        { "train_0.jsonl", "\n \n"u8.ToArray(), "'{0}' holds no rows (the file is blank)." },
        { "train_0.jsonl", "{\"data\": [\"a\"]}\n"u8.ToArray(), "UltraChat from {1} has no test files, so its rows are split for validation: With 1 rows and a test size of 0.1" },
        { "train_0.jsonl", [.. GoodRows, .. "{\"data\": [\"b\"\n"u8], "'{0}' line 13: malformed JSON" },
        { "train_0.jsonl", [.. GoodRows, .. "{\"id\": \"x\"}\n"u8], "'{0}' line 13: the row has no 'data' list (its fields: id)." },
        { "train_0.jsonl", [.. GoodRows, .. "{\"data\": \"one string\"}\n"u8], "'{0}' line 13: 'data' is a string, not a list." },
        { "train_0.jsonl", [.. GoodRows, .. "{\"data\": [\""u8, 0xff, 0xfe, .. "\"]}\n"u8], "'{0}' line 13: invalid UTF-8" },
        { "train_0.jsonl", [.. GoodRows, .. "[1, 2]\n"u8], "'{0}' line 13: expected a JSON object, found a list." },
    };

    [Theory]
    [MemberData(nameof(BadFiles))]
    public async Task ABadFileIsOneErrorNamingTheFileAndLine(string name, byte[] content, string message)
    {
        using var temp = new TempDirectory();
        string file = temp.Combine(name);
        File.WriteAllBytes(file, content);
        var source = await DialogueSource.FromDirectoryAsync(DialogueDataset.UltraChat, temp.Path);
        var e = await Assert.ThrowsAsync<InvalidDataException>(() => DialogueCorpus.LoadAsync(source, temp.Combine("cache")));
        Assert.StartsWith(string.Format(System.Globalization.CultureInfo.InvariantCulture, message, file, temp.Path), e.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(temp.Combine("cache")) && Directory.EnumerateFiles(temp.Combine("cache"), "tokenized-*").Any(), "no tokenized cache is left for bad data");
    }

    [Fact]
    public async Task AGzipFileNamedGzMustBeGzipAndATruncatedOneIsRefused()
    {
        using var temp = new TempDirectory();
        string file = temp.Combine("mine.jsonl.gz");
        File.WriteAllText(file, "{\"text\": \"plain\"}\n");
        var e = await Assert.ThrowsAsync<InvalidDataException>(() => DialogueSource.FromDirectoryAsync(DialogueDataset.JsonLines(), file));
        Assert.Equal($"'{file}' is not a gzip file (it does not start with the gzip magic bytes 1f 8b).", e.Message);

        byte[] gz = Gzip(Encoding.UTF8.GetBytes(string.Concat(Enumerable.Range(0, 400).Select(i => $"{{\"text\": \"row {i} {Words[i % 12]}\"}}\n"))));
        File.WriteAllBytes(file, gz[..(gz.Length - 20)]);
        var source = await DialogueSource.FromDirectoryAsync(DialogueDataset.JsonLines(new TextFieldFormat()), file);
        e = await Assert.ThrowsAsync<InvalidDataException>(() => DialogueCorpus.LoadAsync(source, temp.Combine("cache")));
        Assert.Contains(file, e.Message, StringComparison.Ordinal);
        Assert.Contains("truncated", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AWrongFolderSaysWhatItHoldsAndWhatWasExpected()
    {
        using var temp = new TempDirectory();
        File.WriteAllText(temp.Combine("notes.txt"), "x");
        var e = await Assert.ThrowsAsync<FileNotFoundException>(() => DialogueSource.FromDirectoryAsync(DialogueDataset.Dolly, temp.Path));
        Assert.Equal(
            $"'{temp.Path}' holds no databricks-dolly-15k.jsonl. A Dolly-15k folder is laid out like the Hub repository databricks/databricks-dolly-15k ({Path.Combine(temp.Path, "databricks-dolly-15k.jsonl")}), or written by save_to_disk. It holds notes.txt.",
            e.Message);
        var missing = await Assert.ThrowsAsync<DirectoryNotFoundException>(() => DialogueSource.FromDirectoryAsync(DialogueDataset.Dolly, temp.Combine("nope")));
        Assert.StartsWith($"The Dolly-15k folder '{temp.Combine("nope")}' does not exist.", missing.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DataSetNamesAreReadAndMistakesSaid()
    {
        Assert.Same(DialogueDataset.Dolly, DialogueDataset.Parse("Dolly"));
        Assert.Same(DialogueDataset.UltraChat200k, DialogueDataset.Parse("ultrachat_200k"));
        Assert.Equal("HH-RLHF harmless", DialogueDataset.Parse("hh-rlhf", "harmless-base").DisplayName);
        Assert.Equal("'dolly' has no subsets; a subset is only given for hh-rlhf.", Assert.Throws<FormatException>(() => DialogueDataset.Parse("dolly", "x")).Message);
        Assert.StartsWith("'dollly' is not a dialogue data set; expected one of hh-rlhf, dolly,", Assert.Throws<FormatException>(() => DialogueDataset.Parse("dollly")).Message, StringComparison.Ordinal);
    }

    private static List<object> DollyRows(int count) => [.. Enumerable.Range(0, count).Select(i => (object)new
    {
        instruction = $"Tell me about {Words[i % 12]} {i}",
        context = i % 3 == 0 ? $"The {Words[(i + 4) % 12]} is near the {Words[(i + 7) % 12]}." : string.Empty,
        response = $"A {Words[(i * 7) % 12]} and a {Words[(i + 1) % 12]}.",
        category = "open_qa",
    })];

    private static string DollyText(object row)
    {
        var e = JsonSerializer.SerializeToElement(row);
        string context = e.GetProperty("context").GetString()!;
        string text = $"Instruction: {e.GetProperty("instruction").GetString()}" + (context.Trim().Length > 0 ? $" Context: {context}" : string.Empty) + $" Response: {e.GetProperty("response").GetString()}";
        return PythonText.NormalizeWhitespace(text);
    }

    private static string DollyVocabularyText(object row)
    {
        var e = JsonSerializer.SerializeToElement(row);
        string context = e.GetProperty("context").GetString()!;
        return string.Join(" ", new[] { e.GetProperty("instruction").GetString()!, context, e.GetProperty("response").GetString()! }.Where((p, i) => i != 1 || p.Trim().Length > 0));
    }

    private static int[] Encoded(DialogueTokenizer tokenizer, string text, int length)
    {
        int[] ids = tokenizer.EncodeDialogue(text, length, out int kept, out _);
        return ids[..kept];
    }

    private static SourceRow Row(object fields) =>
        new(System.Text.Json.Nodes.JsonNode.Parse(JsonSerializer.Serialize(fields))!.AsObject(), RowLocation.AtLine("f.jsonl", 7));

    private static void WriteJsonLines(string path, IEnumerable<object> rows) =>
        File.WriteAllText(path, string.Concat(rows.Select(r => JsonSerializer.Serialize(r) + "\n")));

    private static byte[] Gzip(byte[] data)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest))
        {
            gzip.Write(data);
        }

        return output.ToArray();
    }
}
