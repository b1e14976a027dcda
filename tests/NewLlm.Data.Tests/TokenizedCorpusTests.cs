using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using NewLlm.Data.Tests.Infrastructure;
using NewLlm.Tests;

namespace NewLlm.Data.Tests;

public class TokenizedCorpusTests
{
    private static readonly string[] Texts = ["a b c d e f g", "a b", "c", "d e f", "a a a a a a a a a a a a", "b c"];
    private static readonly WordLevelTokenizer Words = WordLevelTokenizer.Build(Texts, 20);

    private static TokenizedCorpus Corpus(int length = 8) => TokenizedCorpus.Build(Texts, Words, new TokenizedCorpusOptions { MaxSequenceLength = length });

    private static HhRlhfDataset Dataset() => HhRlhfDataset.FromRows(Texts.Select(t => new HhRlhfRow(t, t + " no")));

    [Fact]
    public void BuildRowsLengthsAndBytes()
    {
        var corpus = Corpus();
        Assert.Equal((6, 8, 0, 20), (corpus.Count, corpus.SequenceLength, corpus.PadId, corpus.VocabSize));
        Assert.Equal(Words.EncodeDialogue("a b", 8)[..4], corpus.GetTokens(1).ToArray());
        Assert.Equal(4, corpus.GetLength(1));
        Assert.Equal([8, 4, 3, 5, 8, 4], Enumerable.Range(0, 6).Select(corpus.GetLength));
        Assert.Equal(13, corpus.GetByteCount(0)); // BOS + 7 words fill the row: every word kept, only EOS cut
        Assert.Equal(11, TokenizedCorpus.Build(Texts, Words, new TokenizedCorpusOptions { MaxSequenceLength = 7 }).GetByteCount(0)); // "a b c d e f"
        Assert.Equal(3, corpus.GetByteCount(1));
        Assert.Equal(Words.Fingerprint, corpus.TokenizerFingerprint);
    }

    [Fact]
    public void GetBatchesShiftsInputsAndTargets()
    {
        var corpus = Corpus();
        var batches = corpus.GetBatches(4, shuffle: false, random: null).ToList();
        Assert.Equal([4, 2], batches.Select(b => b.BatchSize));
        var first = batches[0];
        Assert.Equal(7, first.SequenceLength);
        Assert.Equal([0, 1, 2, 3], first.RowIndices);
        Assert.Equal(Padded(corpus, 1)[..7].Select(i => (long)i), first.Inputs.Skip(7).Take(7));
        Assert.Equal(Padded(corpus, 1)[1..].Select(i => (long)i), first.Targets.Skip(7).Take(7));
        Assert.Equal(7 + 3 + 2 + 4, first.TargetTokenCount);
        Assert.Equal(first.RowIndices.Sum(i => corpus.GetByteCount(i)), first.ByteCount);
    }

    [Fact]
    public void GetBatchesShuffleIsSeededAndCoversEveryRowOnce()
    {
        var corpus = Corpus();
        int[] Order(int seed) => corpus.GetBatches(4, true, new Random(seed)).SelectMany(b => b.RowIndices).ToArray();
        Assert.Equal(Order(7), Order(7));
        Assert.Equal(Enumerable.Range(0, 6), Order(7).Order());
        Assert.Contains(Enumerable.Range(0, 20), s => !Order(s).SequenceEqual(Order(7)));
        Assert.Throws<ArgumentNullException>(() => corpus.GetBatches(4, true, null));
    }

    [Fact]
    public void GetBatchesBucketingTrimsPaddingButKeepsTargets()
    {
        var corpus = Corpus();
        var plain = corpus.GetBatches(2, false, null).ToList();
        var bucketed = corpus.GetBatches(2, true, new Random(1), bucketByLength: true).ToList();
        Assert.Equal(Enumerable.Range(0, 6), bucketed.SelectMany(b => b.RowIndices).Order());
        Assert.Equal(plain.Sum(b => b.TargetTokenCount), bucketed.Sum(b => b.TargetTokenCount));
        Assert.Equal(plain.Sum(b => b.ByteCount), bucketed.Sum(b => b.ByteCount));
        foreach (var batch in bucketed)
        {
            Assert.Equal(batch.RowIndices.Max(corpus.GetLength) - 1, batch.SequenceLength);
            Assert.Equal(batch.BatchSize * batch.SequenceLength, batch.Inputs.Length);
        }

        Assert.Contains(bucketed, b => b.SequenceLength < 7);
        Assert.True(bucketed.Sum(b => b.Inputs.Length) < plain.Sum(b => b.Inputs.Length));
    }

    [Fact]
    public void OptionsInvalidLengthThrowsNamingTheOption()
    {
        var e = Assert.Throws<OptionsValidationException>(() => Corpus(length: 1));
        Assert.Contains(nameof(TokenizedCorpusOptions.MaxSequenceLength), e.Message, StringComparison.Ordinal);
        e = Assert.Throws<OptionsValidationException>(() => TokenizedCorpus.Build(Texts, Words, new TokenizedCorpusOptions { MaxDegreeOfParallelism = 0 }));
        Assert.Contains(nameof(TokenizedCorpusOptions.MaxDegreeOfParallelism), e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BuildingTheCacheDeletesTemporaryFilesAKilledWriteLeftAnHourAgoButNotFreshOnes()
    {
        using var cache = new TempDirectory();
        string old = cache.Combine($".tokenized-0123456789abcdef.arrow.{Guid.NewGuid():N}.tmp");
        string fresh = cache.Combine($".tokenized-fedcba9876543210.arrow.{Guid.NewGuid():N}.tmp");
        await File.WriteAllBytesAsync(old, new byte[100]);
        await File.WriteAllBytesAsync(fresh, new byte[100]);
        File.SetLastWriteTimeUtc(old, DateTime.UtcNow.AddHours(-2));

        await TokenizedCorpus.LoadOrBuildAsync(Dataset(), Words, new TokenizedCorpusOptions { MaxSequenceLength = 8 }, cache.Path);

        Assert.False(File.Exists(old));
        Assert.True(File.Exists(fresh)); // perhaps another process writing the same cache right now
    }

    [Fact]
    public async Task LoadOrBuildWritesThenReadsTheCache()
    {
        using var cache = new TempDirectory();
        var options = new TokenizedCorpusOptions { MaxSequenceLength = 8 };
        var logger = new ListLogger();
        var built = await TokenizedCorpus.LoadOrBuildAsync(Dataset(), Words, options, cache.Path, logger);
        string[] files = Directory.GetFiles(cache.Path).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(2, files.Length);
        Assert.EndsWith("-000.arrows", files[0], StringComparison.Ordinal); // the one shard, Arrow IPC stream
        Assert.EndsWith(".json", files[1], StringComparison.Ordinal); // its index
        var loaded = await TokenizedCorpus.LoadOrBuildAsync(Dataset(), Words, options, cache.Path, logger);
        Assert.Contains(logger.Entries, e => e.Message.StartsWith("Loaded tokenized corpus", StringComparison.Ordinal));
        AssertSame(built, loaded);

        // Opened from the cache, the rows are read from the mapped shard: their ids are not copied into managed memory.
        Assert.True(loaded.IsMemoryMapped);
        var mapped = Assert.IsType<MappedTokenRows>(loaded.Rows);
        Assert.All(Enumerable.Range(0, loaded.Count), i => Assert.True(mapped.IsMapped(loaded.GetTokens(i))));

        var gpt2 = await TokenizedCorpus.LoadOrBuildAsync(Dataset(), Gpt2DialogueTokenizer.Create(), options, cache.Path, logger);
        Assert.Equal(50257, gpt2.PadId);
        Assert.Equal(4, Directory.GetFiles(cache.Path).Length);
        var longer = await TokenizedCorpus.LoadOrBuildAsync(Dataset(), Words, new TokenizedCorpusOptions { MaxSequenceLength = 9 }, cache.Path);
        Assert.Equal(9, longer.SequenceLength);
        var otherText = await TokenizedCorpus.LoadOrBuildAsync(HhRlhfDataset.FromRows([new HhRlhfRow("z", "y")]), Words, options, cache.Path);
        Assert.Equal(1, otherText.Count);
        Assert.Equal(8, Directory.GetFiles(cache.Path).Length);
    }

    [Theory]
    [InlineData("flip")]
    [InlineData("truncate")]
    [InlineData("garbage")]
    [InlineData("stale")]
    public async Task LoadOrBuildRebuildsACorruptOrStaleCache(string damage)
    {
        using var cache = new TempDirectory();
        var options = new TokenizedCorpusOptions { MaxSequenceLength = 8 };
        var built = await TokenizedCorpus.LoadOrBuildAsync(Dataset(), Words, options, cache.Path);
        built.Dispose(); // its shard is mapped; the damage below is done to a file no one reads
        string file = Assert.Single(Directory.GetFiles(cache.Path, "*.arrows"));
        string indexFile = Assert.Single(Directory.GetFiles(cache.Path, "*.json"));
        byte[] bytes = File.ReadAllBytes(file);
        switch (damage)
        {
            case "flip":
                // change one id inside the data body (the ids follow the schema message at the start)
                int index = Array.FindLastIndex(bytes, bytes.Length / 2, b => b == 5);
                bytes[index] = 6;
                File.WriteAllBytes(file, bytes);
                break;
            case "truncate":
                File.WriteAllBytes(file, bytes[..(bytes.Length * 2 / 3)]);
                break;
            case "garbage":
                File.WriteAllText(file, "not arrow at all");
                break;
            default:
                // a cache written for other texts placed under this key's name
                using (var other = new TempDirectory())
                {
                    (await TokenizedCorpus.LoadOrBuildAsync(HhRlhfDataset.FromRows(Texts.Reverse().Select(t => new HhRlhfRow(t, t))), Words, options, other.Path)).Dispose();
                    File.Copy(Assert.Single(Directory.GetFiles(other.Path, "*.arrows")), file, overwrite: true);
                    File.Copy(Assert.Single(Directory.GetFiles(other.Path, "*.json")), indexFile, overwrite: true);
                }

                break;
        }

        var logger = new ListLogger();
        using var rebuilt = await TokenizedCorpus.LoadOrBuildAsync(Dataset(), Words, options, cache.Path, logger);
        Assert.Contains(logger.Entries, e => e.Level == LogLevel.Warning && e.Message.Contains("stale or corrupt", StringComparison.Ordinal));
        AssertSame(TokenizedCorpus.Build(Dataset().GetNormalizedChosenTexts(), Words, options), rebuilt);

        var again = new ListLogger();
        using var reloaded = await TokenizedCorpus.LoadOrBuildAsync(Dataset(), Words, options, cache.Path, again);
        Assert.Contains(again.Entries, e => e.Message.StartsWith("Loaded tokenized corpus", StringComparison.Ordinal));
    }

    [SkippableFact]
    public async Task LoadOrBuildRealFileRoundTripsThroughTheCache()
    {
        SharedData.SkipUnlessExists(SharedData.HarmlessTestFile);
        var dataset = await HhRlhfDataset.LoadFromDirectoryAsync(SharedData.FullDirectory, HhRlhfSubset.Harmless, HhRlhfSplit.Test);
        var tokenizer = WordLevelTokenizer.Build(dataset.GetNormalizedChosenTexts());
        using var cache = new TempDirectory();
        var options = new TokenizedCorpusOptions();
        var built = await TokenizedCorpus.LoadOrBuildAsync(dataset, tokenizer, options, cache.Path);
        var loaded = await TokenizedCorpus.LoadOrBuildAsync(dataset, tokenizer, options, cache.Path);
        AssertSame(built, loaded);
        Assert.Equal(2312, loaded.Count);
        Assert.All(Enumerable.Range(0, loaded.Count), i => Assert.InRange(loaded.GetLength(i), 2, 128));
    }

    [Fact]
    public void PreferencePairsEncodeChosenAndRejected()
    {
        var pairs = TokenizedPreferencePairs.Build(Dataset(), Words, new TokenizedCorpusOptions { MaxSequenceLength = 6 });
        Assert.Equal((6, 6, 0), (pairs.Count, pairs.SequenceLength, pairs.PadId));
        Assert.Equal(Words.EncodeDialogue("d e f", 6)[..5], pairs.GetChosen(3).ToArray());
        Assert.Equal(Words.EncodeDialogue("d e f no", 6), pairs.GetRejected(3).ToArray());
        Assert.Equal((5, 6), (pairs.GetChosenLength(3), pairs.GetRejectedLength(3)));
    }

    private static long[] Padded(TokenizedCorpus corpus, int row)
    {
        var padded = Enumerable.Repeat((long)corpus.PadId, corpus.SequenceLength).ToArray();
        var tokens = corpus.GetTokens(row);
        for (int i = 0; i < tokens.Length; i++)
        {
            padded[i] = tokens[i];
        }

        return padded;
    }

    private static void AssertSame(TokenizedCorpus expected, TokenizedCorpus actual)
    {
        Assert.Equal((expected.Count, expected.SequenceLength, expected.PadId, expected.VocabSize), (actual.Count, actual.SequenceLength, actual.PadId, actual.VocabSize));
        for (int i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected.GetTokens(i).ToArray(), actual.GetTokens(i).ToArray());
            Assert.Equal(expected.GetLength(i), actual.GetLength(i));
            Assert.Equal(expected.GetByteCount(i), actual.GetByteCount(i));
        }
    }
}
