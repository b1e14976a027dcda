using System.Text;
using NewLlm.Data.Tests.Infrastructure;
using NewLlm.Tests;

namespace NewLlm.Data.Tests;

public class HhRlhfDatasetTests
{
    [SkippableFact]
    public async Task LoadFromDirectoryReadsRealHarmlessTest()
    {
        SharedData.SkipUnlessExists(SharedData.HarmlessTestFile);
        var dataset = await HhRlhfDataset.LoadFromDirectoryAsync(SharedData.FullDirectory, HhRlhfSubset.Harmless, HhRlhfSplit.Test);
        Assert.Equal(2312, dataset.Count);
        Assert.Equal(HhRlhfLayout.GetKnownChecksum(HhRlhfSubset.Harmless, HhRlhfSplit.Test)!.Value.Sha256, dataset.SourceChecksum);
        Assert.All(dataset, row =>
        {
            Assert.StartsWith("Human:", row.NormalizedChosen, StringComparison.Ordinal);
            Assert.DoesNotContain("  ", row.NormalizedChosen, StringComparison.Ordinal);
            Assert.NotEmpty(row.ChosenTurns);
            Assert.Equal(DialogueSpeaker.Human, row.ChosenTurns[0].Speaker);
        });
        Assert.Contains(dataset, r => r.ChosenTurns.Any(t => t.Speaker == DialogueSpeaker.Assistant));
    }

    [SkippableFact]
    public async Task LoadFromDirectoryMiniSplitsPartitionTheRealFile()
    {
        string train = Path.Combine(SharedData.MiniDirectory, "harmless-base", "train.jsonl.gz");
        SharedData.SkipUnlessExists(train);
        SharedData.SkipUnlessExists(SharedData.HarmlessTestFile);
        var miniTrain = await HhRlhfDataset.LoadFromDirectoryAsync(SharedData.MiniDirectory, HhRlhfSubset.Harmless, HhRlhfSplit.Train);
        var miniTest = await HhRlhfDataset.LoadFromDirectoryAsync(SharedData.MiniDirectory, HhRlhfSubset.Harmless, HhRlhfSplit.Test);
        Assert.Equal((2081, 231), (miniTrain.Count, miniTest.Count));
        Assert.NotEqual(miniTrain.SourceChecksum, miniTest.SourceChecksum);
        Assert.Equal(HhRlhfSplit.Train, miniTrain.Split);
        Assert.Equal(HhRlhfSubset.Harmless, miniTrain.Subset);
    }

    [Fact]
    public async Task LoadFromDirectoryParsesRowsTurnsAndNormalisation()
    {
        using var temp = new TempDirectory();
        Fixtures.WriteSubset(temp.Path, "helpful-base", "train", Fixtures.JsonLines(Fixtures.Dialogues));
        var dataset = await HhRlhfDataset.LoadFromDirectoryAsync(temp.Path, HhRlhfSubset.Helpful, HhRlhfSplit.Train);
        Assert.Equal(3, dataset.Count);
        Assert.Equal(Fixtures.Dialogues[1].Chosen, dataset[1].Chosen);
        Assert.Equal(Fixtures.Dialogues[1].Rejected, dataset[1].Rejected);
        Assert.Equal("Human: Tabs and spaces Assistant: are collapsed.", dataset[2].NormalizedChosen);
        Assert.Equal(
            [new DialogueTurn(DialogueSpeaker.Human, "Name a fruit."), new DialogueTurn(DialogueSpeaker.Assistant, "An apple."),
             new DialogueTurn(DialogueSpeaker.Human, "Another?"), new DialogueTurn(DialogueSpeaker.Assistant, "A pear.")],
            dataset[1].ChosenTurns);
        Assert.Equal(2, dataset[1].RejectedTurns.Count);
        Assert.Equal("No.", dataset[1].RejectedTurns[1].Text);
    }

    [Fact]
    public async Task LoadFromDirectoryAcceptsPlainJsonLinesAndSelectsTheSubset()
    {
        using var temp = new TempDirectory();
        Fixtures.WriteSubset(temp.Path, "harmless-base", "test", Fixtures.JsonLines(Fixtures.Dialogues[..1]), gzip: false);
        Fixtures.WriteSubset(temp.Path, "helpful-base", "test", Fixtures.JsonLines(Fixtures.Dialogues));
        var harmless = await HhRlhfDataset.LoadFromDirectoryAsync(temp.Path, HhRlhfSubset.Harmless, HhRlhfSplit.Test);
        var helpful = await HhRlhfDataset.LoadFromDirectoryAsync(temp.Path, HhRlhfSubset.Helpful, HhRlhfSplit.Test);
        Assert.Single(harmless);
        Assert.Equal(3, helpful.Count);
    }

    [Fact]
    public async Task LoadFromDirectoryAllLoadsTheFourSubsetsInOrder()
    {
        using var temp = new TempDirectory();
        string[] dirs = ["helpful-base", "harmless-base", "helpful-online", "helpful-rejection-sampled"];
        for (int i = 0; i < dirs.Length; i++)
        {
            Fixtures.WriteSubset(temp.Path, dirs[i], "train", Fixtures.JsonLines([($"\n\nHuman: {dirs[i]}\n\nAssistant: ok", "r")]));
        }

        var all = await HhRlhfDataset.LoadFromDirectoryAsync(temp.Path, HhRlhfSubset.All, HhRlhfSplit.Train);
        Assert.Equal(dirs.Select(d => $"Human: {d} Assistant: ok"), all.Select(r => r.NormalizedChosen));

        File.Delete(Path.Combine(temp.Path, "helpful-online", "train.jsonl.gz"));
        var e = await Assert.ThrowsAsync<FileNotFoundException>(() => HhRlhfDataset.LoadFromDirectoryAsync(temp.Path, HhRlhfSubset.All, HhRlhfSplit.Train));
        Assert.Contains("helpful-online", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FromRowsChecksumDependsOnTexts()
    {
        var a = HhRlhfDataset.FromRows([new HhRlhfRow("a", "b")]);
        var b = HhRlhfDataset.FromRows([new HhRlhfRow("a", "b")]);
        var c = HhRlhfDataset.FromRows([new HhRlhfRow("ab", "")]);
        Assert.Equal(a.SourceChecksum, b.SourceChecksum);
        Assert.NotEqual(a.SourceChecksum, c.SourceChecksum);
        Assert.Equal(64, a.SourceChecksum.Length);
    }

    public static TheoryData<string, byte[], bool, string> BadFiles()
    {
        byte[] good = Fixtures.JsonLines(Fixtures.Dialogues);
        byte[] gz = Fixtures.Gzip(good);
        string line1 = Fixtures.JsonLine("a", "b") + "\n";
        return new TheoryData<string, byte[], bool, string>
        {
            { "malformed JSON", Encoding.UTF8.GetBytes(line1 + "{\"chosen\": \"x\", \n"), true, "line 2" },
            { "missing chosen", Encoding.UTF8.GetBytes(line1 + line1 + "{\"rejected\": \"x\"}\n"), true, "line 3" },
            { "chosen not a string", Encoding.UTF8.GetBytes("{\"chosen\": 5, \"rejected\": \"x\"}\n"), true, "line 1" },
            { "invalid UTF-8", [.. Encoding.UTF8.GetBytes(line1 + "{\"chosen\": \"a"), 0xff, 0xfe, .. Encoding.UTF8.GetBytes("\", \"rejected\": \"b\"}\n")], true, "line 2" },
            { "empty file", [], false, "is empty" },
            { "blank lines only", Encoding.UTF8.GetBytes("\n  \n"), true, "no rows" },
            { "truncated gzip", gz[..(gz.Length / 2)], false, "gzip" },
            { "not gzip", good, false, "not a gzip file" },
            { "trailing garbage", Encoding.UTF8.GetBytes("{\"chosen\": \"a\", \"rejected\": \"b\"} x\n"), true, "line 1" },
        };
    }

    [Theory]
    [MemberData(nameof(BadFiles))]
    public async Task LoadFromDirectoryBadInputThrowsNamingFileAndLine(string caseName, byte[] content, bool compress, string expectedInMessage)
    {
        using var temp = new TempDirectory();
        string dir = temp.Combine("harmless-base");
        Directory.CreateDirectory(dir);
        string path = Path.Combine(dir, "train.jsonl.gz");
        await File.WriteAllBytesAsync(path, compress ? Fixtures.Gzip(content) : content);
        var e = await Assert.ThrowsAsync<InvalidDataException>(() => HhRlhfDataset.LoadFromDirectoryAsync(temp.Path, HhRlhfSubset.Harmless, HhRlhfSplit.Train));
        Assert.True(e.Message.Contains(path, StringComparison.Ordinal), $"{caseName}: {e.Message}");
        Assert.True(e.Message.Contains(expectedInMessage, StringComparison.Ordinal), $"{caseName}: {e.Message}");
    }

    [Fact]
    public async Task LoadFromDirectoryMissingFileThrowsFileNotFound()
    {
        using var temp = new TempDirectory();
        var e = await Assert.ThrowsAsync<FileNotFoundException>(() => HhRlhfDataset.LoadFromDirectoryAsync(temp.Path, HhRlhfSubset.Harmless, HhRlhfSplit.Test));
        Assert.Contains(Path.Combine(temp.Path, "harmless-base", "test.jsonl.gz"), e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LoadFromDirectoryGivenASubsetFolderSaysTheLayoutAndSuggestsTheParent()
    {
        using var temp = new TempDirectory();
        Fixtures.WriteSubset(temp.Path, "harmless-base", "train", Fixtures.JsonLines(Fixtures.Dialogues));
        string subsetFolder = temp.Combine("harmless-base");
        var e = await Assert.ThrowsAsync<FileNotFoundException>(() => HhRlhfDataset.LoadFromDirectoryAsync(subsetFolder, HhRlhfSubset.Harmless, HhRlhfSplit.Train));
        Assert.Contains("<directory>/<subset folder>/<split>.jsonl.gz", e.Message, StringComparison.Ordinal);
        Assert.Contains("itself holds train.jsonl.gz", e.Message, StringComparison.Ordinal);
        Assert.Contains($"did you mean its parent folder '{temp.Path}'?", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("--", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LoadFromDirectoryMissingSubsetFolderListsTheSubsetFoldersPresent()
    {
        using var temp = new TempDirectory();
        Fixtures.WriteSubset(temp.Path, "helpful-base", "train", Fixtures.JsonLines(Fixtures.Dialogues));
        Fixtures.WriteSubset(temp.Path, "helpful-online", "train", Fixtures.JsonLines(Fixtures.Dialogues));
        var e = await Assert.ThrowsAsync<FileNotFoundException>(() => HhRlhfDataset.LoadFromDirectoryAsync(temp.Path, HhRlhfSubset.Harmless, HhRlhfSplit.Train));
        Assert.Contains(Path.Combine(temp.Path, "harmless-base", "train.jsonl.gz"), e.Message, StringComparison.Ordinal);
        Assert.Contains("subset folders helpful-base, helpful-online", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LoadFromDirectoryMissingSplitFileListsWhatTheSubsetFolderHolds()
    {
        using var temp = new TempDirectory();
        Fixtures.WriteSubset(temp.Path, "harmless-base", "test", Fixtures.JsonLines(Fixtures.Dialogues));
        var e = await Assert.ThrowsAsync<FileNotFoundException>(() => HhRlhfDataset.LoadFromDirectoryAsync(temp.Path, HhRlhfSubset.Harmless, HhRlhfSplit.Train));
        Assert.Contains($"'{temp.Combine("harmless-base")}' holds test.jsonl.gz", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LoadFromDirectoryOneLevelTooHighSuggestsTheChildFolder()
    {
        using var temp = new TempDirectory();
        string dataset = temp.Combine("hh-rlhf");
        Fixtures.WriteSubset(dataset, "harmless-base", "train", Fixtures.JsonLines(Fixtures.Dialogues));
        var e = await Assert.ThrowsAsync<FileNotFoundException>(() => HhRlhfDataset.LoadFromDirectoryAsync(temp.Path, HhRlhfSubset.Harmless, HhRlhfSplit.Train));
        Assert.Contains($"did you mean '{dataset}'?", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LoadFromDirectoryOneLevelTooHighSuggestsOnlyAChildFolderThatHoldsTheFileAskedFor()
    {
        using var temp = new TempDirectory();
        string full = temp.Combine("hh-rlhf-mini");
        string testOnly = temp.Combine("hh-rlhf");
        Fixtures.WriteSubset(full, "harmless-base", "train", Fixtures.JsonLines(Fixtures.Dialogues));
        Fixtures.WriteSubset(testOnly, "harmless-base", "test", Fixtures.JsonLines(Fixtures.Dialogues));
        var e = await Assert.ThrowsAsync<FileNotFoundException>(() => HhRlhfDataset.LoadFromDirectoryAsync(temp.Path, HhRlhfSubset.Harmless, HhRlhfSplit.Train));
        Assert.Contains($"but '{testOnly}' and '{full}' do: did you mean '{full}'?", e.Message, StringComparison.Ordinal);

        File.Delete(Path.Combine(full, "harmless-base", "train.jsonl.gz"));
        e = await Assert.ThrowsAsync<FileNotFoundException>(() => HhRlhfDataset.LoadFromDirectoryAsync(temp.Path, HhRlhfSubset.Harmless, HhRlhfSplit.Train));
        Assert.DoesNotContain("did you mean", e.Message, StringComparison.Ordinal);
        Assert.Contains("hold subset folders, but not the file asked for", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LoadFromDirectoryThatDoesNotExistSaysSo()
    {
        using var temp = new TempDirectory();
        string missing = temp.Combine("nowhere");
        var e = await Assert.ThrowsAsync<DirectoryNotFoundException>(() => HhRlhfDataset.LoadFromDirectoryAsync(missing, HhRlhfSubset.Harmless, HhRlhfSplit.Train));
        Assert.Contains($"'{missing}' does not exist", e.Message, StringComparison.Ordinal);
        Assert.Contains("<directory>/<subset folder>/<split>.jsonl.gz", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ADialogueSourceGivenAnHhRlhfSubsetFolderGivesTheSameDiagnosis()
    {
        using var temp = new TempDirectory();
        Fixtures.WriteSubset(temp.Path, "harmless-base", "train", Fixtures.JsonLines(Fixtures.Dialogues));
        Fixtures.WriteSubset(temp.Path, "harmless-base", "test", Fixtures.JsonLines(Fixtures.Dialogues));
        string subsetFolder = temp.Combine("harmless-base");
        var e = await Assert.ThrowsAsync<FileNotFoundException>(() => DialogueSource.FromDirectoryAsync(DialogueDataset.HhRlhf(HhRlhfSubset.Harmless), subsetFolder));
        Assert.Contains("<directory>/<subset folder>/<split>.jsonl.gz", e.Message, StringComparison.Ordinal);
        Assert.Contains($"did you mean its parent folder '{temp.Path}'?", e.Message, StringComparison.Ordinal);

        var direct = await Assert.ThrowsAsync<FileNotFoundException>(() => HhRlhfDataset.LoadFromDirectoryAsync(subsetFolder, HhRlhfSubset.Harmless, HhRlhfSplit.Train));
        Assert.Equal(direct.Message, e.Message);
    }

    [Fact]
    public async Task ADialogueSourceForAllSubsetsNamesTheOneSubsetFolderMissing()
    {
        using var temp = new TempDirectory();
        foreach (string folder in new[] { "helpful-base", "harmless-base", "helpful-online" })
        {
            Fixtures.WriteSubset(temp.Path, folder, "train", Fixtures.JsonLines(Fixtures.Dialogues));
            Fixtures.WriteSubset(temp.Path, folder, "test", Fixtures.JsonLines(Fixtures.Dialogues));
        }

        var e = await Assert.ThrowsAsync<FileNotFoundException>(() => DialogueSource.FromDirectoryAsync(DialogueDataset.HhRlhf(HhRlhfSubset.All), temp.Path));
        Assert.Contains(Path.Combine(temp.Path, "helpful-rejection-sampled", "train.jsonl.gz"), e.Message, StringComparison.Ordinal);
        Assert.Contains("but not helpful-rejection-sampled", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LoadFromDirectoryAcceptsAMultiMemberGzipFileSplitInsideALine()
    {
        using var temp = new TempDirectory();
        byte[] text = Fixtures.JsonLines(Fixtures.Dialogues);
        int cut = text.Length / 2; // inside the second line: the members are byte ranges, not lines
        byte[] twoMembers = [.. Fixtures.Gzip(text[..cut]), .. Fixtures.Gzip(text[cut..])];
        string path = Fixtures.WriteSubset(temp.Path, "harmless-base", "train", [], gzip: false);
        File.Delete(path);
        await File.WriteAllBytesAsync(path + ".gz", twoMembers);

        var dataset = await HhRlhfDataset.LoadFromDirectoryAsync(temp.Path, HhRlhfSubset.Harmless, HhRlhfSplit.Train);

        Assert.Equal(Fixtures.Dialogues.Select(d => d.Chosen), dataset.Select(r => r.Chosen));
        Assert.Equal(Fixtures.Dialogues.Select(d => d.Rejected), dataset.Select(r => r.Rejected));
    }

    [Fact]
    public async Task LoadFromDirectoryAcceptsLargeGzipMembersAndHeadersWithNameCommentAndExtra()
    {
        var random = new Random(7);
        string Noise(int length) => new(Enumerable.Range(0, length).Select(_ => (char)random.Next('a', 'z' + 1)).ToArray());
        var rows = Enumerable.Range(0, 600).Select(i => ($"\n\nHuman: {i} {Noise(400)}\n\nAssistant: {Noise(300)}", $"\n\nHuman: {i}\n\nAssistant: no")).ToArray();
        byte[] text = Fixtures.JsonLines(rows);
        int third = text.Length / 3;
        byte[] WithHeaderFields(byte[] member)
        {
            // FLG = FEXTRA | FNAME | FCOMMENT after the 10 fixed bytes, as RFC 1952 orders them. (No FHCRC: SharpZipLib
            // 1.4.2 reads it in the wrong byte order; see CheckedGzipInputStreamTests.HeadersWithAHeaderCrc16AreRead.)
            byte[] fixedPart = [.. member[..10]];
            fixedPart[3] = 0x04 | 0x08 | 0x10;
            byte[] header = [.. fixedPart, 3, 0, (byte)'a', (byte)'b', (byte)'c', .. "train.jsonl"u8, 0, .. "a comment"u8, 0];
            return [.. header, .. member[10..]];
        }

        byte[] file = [.. WithHeaderFields(Fixtures.Gzip(text[..third])), .. Fixtures.Gzip(text[third..(2 * third)]), .. WithHeaderFields(Fixtures.Gzip(text[(2 * third)..]))];
        Assert.True(file.Length > 3 * 8192 * 4, "each member spans many reads");
        using var temp = new TempDirectory();
        string dir = temp.Combine("harmless-base");
        Directory.CreateDirectory(dir);
        await File.WriteAllBytesAsync(Path.Combine(dir, "train.jsonl.gz"), file);

        var dataset = await HhRlhfDataset.LoadFromDirectoryAsync(temp.Path, HhRlhfSubset.Harmless, HhRlhfSplit.Train);

        Assert.Equal(rows.Select(r => r.Item1), dataset.Select(r => r.Chosen));
    }

    public static TheoryData<string, byte[], string> BadMultiMemberFiles()
    {
        byte[] text = Fixtures.JsonLines(Fixtures.Dialogues);
        byte[] first = Fixtures.Gzip(text[..100]);
        byte[] second = Fixtures.Gzip(text[100..]);
        byte[] badCrc = [.. first];
        badCrc[^8] ^= 0x01; // the first member's CRC32
        byte[] badSize = [.. first];
        badSize[^4] ^= 0x01; // the first member's ISIZE
        return new TheoryData<string, byte[], string>
        {
            { "second member cut inside its data", [.. first, .. second[..(second.Length / 2)]], "is a truncated gzip file" },
            { "second member without its trailer", [.. first, .. second[..^8]], "is a truncated gzip file" },
            { "second member's header only", [.. first, .. second[..10]], "is a truncated gzip file" },
            { "first member's CRC32 wrong", [.. badCrc, .. second], "is a corrupt gzip file: GZIP crc sum mismatch" },
            { "first member's ISIZE wrong", [.. badSize, .. second], $"is a corrupt gzip file: Number of bytes mismatch in footer; at byte {first.Length} of" },
            { "garbage after the last member", [.. first, .. second, .. "garbage"u8], "has bytes after a gzip member that are neither a valid gzip member nor zero padding" },
        };
    }

    [Theory]
    [MemberData(nameof(BadMultiMemberFiles))]
    public async Task LoadFromDirectoryRejectsATruncatedOrCorruptMultiMemberGzipFile(string caseName, byte[] content, string expectedInMessage)
    {
        using var temp = new TempDirectory();
        string dir = temp.Combine("harmless-base");
        Directory.CreateDirectory(dir);
        string path = Path.Combine(dir, "train.jsonl.gz");
        await File.WriteAllBytesAsync(path, content);
        var e = await Assert.ThrowsAsync<InvalidDataException>(() => HhRlhfDataset.LoadFromDirectoryAsync(temp.Path, HhRlhfSubset.Harmless, HhRlhfSplit.Train));
        Assert.True(e.Message.StartsWith($"'{path}' {expectedInMessage}", StringComparison.Ordinal), $"{caseName}: {e.Message}");
        Assert.True(e.Message.EndsWith("Download or copy the file again.", StringComparison.Ordinal), $"{caseName}: {e.Message}");
    }

    [Fact]
    public async Task LoadFromDirectoryAcceptsZeroPaddingAfterTheLastGzipMember()
    {
        using var temp = new TempDirectory();
        byte[] gz = [.. Fixtures.Gzip(Fixtures.JsonLines(Fixtures.Dialogues)), .. new byte[512]];
        string dir = temp.Combine("harmless-base");
        Directory.CreateDirectory(dir);
        await File.WriteAllBytesAsync(Path.Combine(dir, "train.jsonl.gz"), gz);
        var dataset = await HhRlhfDataset.LoadFromDirectoryAsync(temp.Path, HhRlhfSubset.Harmless, HhRlhfSplit.Train);
        Assert.Equal(3, dataset.Count);
    }

    [Fact]
    public void DialogueParserIgnoresPreambleAndMarkersInsideText()
    {
        var turns = DialogueParser.Parse("preamble\n\nHuman: say Assistant: hi\nAssistant: hello ");
        Assert.Equal([new DialogueTurn(DialogueSpeaker.Human, "say Assistant: hi"), new DialogueTurn(DialogueSpeaker.Assistant, "hello")], turns);
        Assert.Empty(DialogueParser.Parse("no markers"));
    }
}
