using Microsoft.Extensions.Logging;
using NewLlm.Data.Tests.Infrastructure;
using NewLlm.Tests;

namespace NewLlm.Data.Tests;

/// <summary>A token cache changed on disk is never trusted, even when its checksums were made to match; orphans of killed writers go.</summary>
public class HostileCacheTests
{
    private static readonly string[] Texts = ["a b c d e f g", "a b", "c", "d e f", "b c"];
    private static readonly WordLevelTokenizer Words = WordLevelTokenizer.Build(Texts, 20);
    private static readonly TokenizedCorpusOptions Options = new() { MaxSequenceLength = 8 };

    private static HhRlhfDataset Dataset() => HhRlhfDataset.FromRows(Texts.Select(t => new HhRlhfRow(t, t + " no")));

    private static CorpusCacheKey KeyOf(HhRlhfDataset dataset) =>
        CorpusCacheKey.For(CorpusCacheKey.RowsOf(dataset.SourceChecksum, HhRlhfDataset.Format), Words, Options.MaxSequenceLength);

    /// <summary>Writes a cache for the key whose index and SHA-256 agree with its shard, but whose ids include <paramref name="badId"/>.</summary>
    private static async Task WriteTamperedCacheAsync(string directory, CorpusCacheKey key, int badId)
    {
        await using var writer = CorpusCacheWriter.Create(directory, key);
        int[][] rows = [.. Texts.Select((_, i) => i == 2 ? new[] { Words.BosId, badId, Words.EosId } : new[] { Words.BosId, Words.EosId })];
        await writer.AppendAsync(rows, [.. rows.Select(_ => 1L)], CancellationToken.None);
        await writer.CompleteAsync(CancellationToken.None);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(20)] // the vocabulary's size: one past its last id
    public async Task ARehashedCacheWithAnIdOutsideTheVocabularyIsRebuiltWithAWarningNamingIt(int badId)
    {
        using var cache = new TempDirectory();
        var dataset = Dataset();
        await WriteTamperedCacheAsync(cache.Path, KeyOf(dataset), badId);
        var logger = new ListLogger();

        using var corpus = await TokenizedCorpus.LoadOrBuildAsync(dataset, Words, Options, cache.Path, logger);

        var warning = Assert.Single(logger.Entries, e => e.Level == LogLevel.Warning);
        Assert.Contains(CorpusArrowCache.GetIndexPath(cache.Path, KeyOf(dataset)), warning.Message, StringComparison.Ordinal);
        Assert.Contains($"row 2 holds token id {badId} at position 1, outside the vocabulary [0, {Words.VocabSize})", warning.Message, StringComparison.Ordinal);
        Assert.Contains("rebuilding it", warning.Message, StringComparison.Ordinal);
        using var fresh = TokenizedCorpus.Build(Texts, Words, Options);
        Assert.Equal(fresh.Count, corpus.Count);
        for (int i = 0; i < corpus.Count; i++)
        {
            Assert.Equal(fresh.GetTokens(i).ToArray(), corpus.GetTokens(i).ToArray());
        }

        // The rebuilt cache is used from now on: no further warning.
        var again = new ListLogger();
        using var second = await TokenizedCorpus.LoadOrBuildAsync(dataset, Words, Options, cache.Path, again);
        Assert.DoesNotContain(again.Entries, e => e.Level == LogLevel.Warning);
    }

    [Fact]
    public async Task OpeningATamperedCacheWhereNothingCanRebuildItNamesTheShardAndSaysToDeleteIt()
    {
        using var cache = new TempDirectory();
        var key = KeyOf(Dataset());
        await WriteTamperedCacheAsync(cache.Path, key, -1);

        var e = await Assert.ThrowsAsync<InvalidDataException>(() => CorpusArrowCache.OpenAsync(cache.Path, key, CancellationToken.None));

        Assert.Contains(Path.Combine(cache.Path, CorpusArrowCache.GetShardName(key, 0)), e.Message, StringComparison.Ordinal);
        Assert.Contains("token id -1", e.Message, StringComparison.Ordinal);
        Assert.Contains("Delete it", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StartingACacheWriteRemovesOrphanTemporariesAndKeepsOnesAWriterHolds()
    {
        using var cache = new TempDirectory();
        var key = KeyOf(Dataset());
        var minuteAgo = DateTime.UtcNow.AddMinutes(-1); // past the few seconds' grace, far short of an hour
        string orphan = AtomicFile.TemporaryPathFor(Path.Combine(cache.Path, CorpusArrowCache.GetShardName(key, 0)));
        File.WriteAllBytes(orphan, new byte[4096]);
        File.SetLastWriteTimeUtc(orphan, minuteAgo);
        string held = AtomicFile.TemporaryPathFor(Path.Combine(cache.Path, "tokenized-other-000.arrows"));
        using var liveWriter = new FileStream(held, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None);
        File.SetLastWriteTimeUtc(liveWriter.SafeFileHandle, minuteAgo);

        await using (CorpusCacheWriter.Create(cache.Path, key))
        {
        }

        Assert.False(File.Exists(orphan));
        Assert.True(File.Exists(held));
    }
}
