using System.Security.Cryptography;
using System.Text;
using NewLlm.Data.Tests.Infrastructure;
using NewLlm.Tests;

namespace NewLlm.Data.Tests;

/// <summary>Every download is checked against the Hub's own evidence; a cache entry that cannot be read is replaced once.</summary>
public class HubVerificationTests
{
    // harmless-base/train has no published checksum (HhRlhfLayout.GetKnownChecksum gives none): only the server's evidence counts.
    private const string TrainPath = "/datasets/Anthropic/hh-rlhf/resolve/main/harmless-base/train.jsonl.gz";
    private const string Commit = "89abcdef0123456789abcdef0123456789abcdef";

    private static readonly byte[] Good = Fixtures.Gzip(Fixtures.JsonLines(Fixtures.Dialogues));

    private static string Sha256Of(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    private static HuggingFaceHubOptions Options(LocalHttpServer server, TempDirectory cache) => server.HubOptions(cache);

    private static string[] CachedFiles(TempDirectory cache) =>
        Directory.Exists(cache.Path) ? Directory.GetFiles(cache.Path, "*", SearchOption.AllDirectories) : [];

    private static string SnapshotPath(TempDirectory cache, string snapshot) =>
        cache.Combine("datasets--Anthropic--hh-rlhf", "snapshots", snapshot, "harmless-base", "train.jsonl.gz");

    private static Dictionary<string, string> LfsHeaders(byte[] file) => new()
    {
        ["X-Linked-Etag"] = $"\"{Sha256Of(file)}\"",
        ["X-Linked-Size"] = file.Length.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["X-Repo-Commit"] = Commit,
    };

    [Fact]
    public async Task ATruncatedBodyWithoutContentLengthIsCaughtByTheLinkedSizeRetriedAndNothingIsCached()
    {
        using var server = new LocalHttpServer((_, _) => new ServerResponse(200, Good[..(Good.Length / 2)], LfsHeaders(Good), SendContentLength: false));
        using var cache = new TempDirectory();

        var e = await Assert.ThrowsAsync<HttpRequestException>(() =>
            HhRlhfDataset.LoadFromHubAsync(HhRlhfSubset.Harmless, HhRlhfSplit.Train, Options(server, cache)));

        Assert.Contains($"ended after {Good.Length / 2} of {Good.Length} bytes", e.Message, StringComparison.Ordinal);
        Assert.Contains("X-Linked-Size", e.Message, StringComparison.Ordinal);
        Assert.Contains("harmless-base/train.jsonl.gz", e.Message, StringComparison.Ordinal);
        Assert.Equal(3, server.RequestCount); // a short body is a transient failure: 1 + MaxRetries attempts
        Assert.Empty(CachedFiles(cache));
    }

    [Fact]
    public async Task ATruncatedBodyWithoutContentLengthOrSizeIsCaughtByTheLinkedEtagAndNothingIsCached()
    {
        var headers = new Dictionary<string, string> { ["X-Linked-Etag"] = $"\"{Sha256Of(Good)}\"" };
        using var server = new LocalHttpServer((_, _) => new ServerResponse(200, Good[..(Good.Length / 2)], headers, SendContentLength: false));
        using var cache = new TempDirectory();

        var e = await Assert.ThrowsAsync<InvalidDataException>(() =>
            HhRlhfDataset.LoadFromHubAsync(HhRlhfSubset.Harmless, HhRlhfSplit.Train, Options(server, cache)));

        Assert.Contains($"expected {Sha256Of(Good)} (the server's X-Linked-Etag)", e.Message, StringComparison.Ordinal);
        Assert.Contains("Nothing was cached", e.Message, StringComparison.Ordinal);
        Assert.Empty(CachedFiles(cache));
    }

    [Fact]
    public async Task ATruncatedBodyWithOnlyALinkedSizeIsNotCached()
    {
        var headers = new Dictionary<string, string> { ["X-Linked-Size"] = Good.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), ["ETag"] = "\"not-a-hash\"" };
        using var server = new LocalHttpServer((_, n) => new ServerResponse(200, n == 1 ? Good[..100] : Good, headers, SendContentLength: false));
        using var cache = new TempDirectory();

        var dataset = await HhRlhfDataset.LoadFromHubAsync(HhRlhfSubset.Harmless, HhRlhfSplit.Train, Options(server, cache));

        Assert.Equal(3, dataset.Count);
        Assert.Equal(2, server.RequestCount); // the short first body was retried, not cached
        Assert.Equal(Good, File.ReadAllBytes(SnapshotPath(cache, "main")));
    }

    [Fact]
    public async Task ADownloadWithNoEvidenceAtAllIsRefusedAndNotCached()
    {
        using var server = new LocalHttpServer((_, _) => new ServerResponse(200, Good, SendContentLength: false));
        using var cache = new TempDirectory();

        var e = await Assert.ThrowsAsync<InvalidDataException>(() =>
            HhRlhfDataset.LoadFromHubAsync(HhRlhfSubset.Harmless, HhRlhfSplit.Train, Options(server, cache)));

        Assert.Contains("cannot be verified", e.Message, StringComparison.Ordinal);
        Assert.Contains("X-Linked-Etag", e.Message, StringComparison.Ordinal);
        Assert.Contains("expectedSha256", e.Message, StringComparison.Ordinal);
        Assert.Empty(CachedFiles(cache));
    }

    [Fact]
    public async Task ARegularFileIsCheckedAgainstItsGitBlobEtag()
    {
        byte[] Sha1Blob(byte[] content) => SHA1.HashData([.. Encoding.ASCII.GetBytes($"blob {content.Length}\0"), .. content]);
        var right = new Dictionary<string, string> { ["ETag"] = $"\"{Convert.ToHexStringLower(Sha1Blob(Good))}\"" };
        var wrong = new Dictionary<string, string> { ["ETag"] = $"\"{Convert.ToHexStringLower(Sha1Blob([.. Good, 0]))}\"" };
        using var cache = new TempDirectory();
        using (var bad = new LocalHttpServer((_, _) => new ServerResponse(200, Good, wrong)))
        {
            var e = await Assert.ThrowsAsync<InvalidDataException>(() =>
                HhRlhfDataset.LoadFromHubAsync(HhRlhfSubset.Harmless, HhRlhfSplit.Train, Options(bad, cache)));
            Assert.Contains("git blob", e.Message, StringComparison.Ordinal);
            Assert.Empty(CachedFiles(cache));
        }

        using var good = new LocalHttpServer((_, _) => new ServerResponse(200, Good, right));
        var dataset = await HhRlhfDataset.LoadFromHubAsync(HhRlhfSubset.Harmless, HhRlhfSplit.Train, Options(good, cache));
        Assert.Equal(3, dataset.Count);
    }

    [Fact]
    public async Task TheHubsEvidenceIsReadFromItsRedirectBeforeTheCdnServesTheFile()
    {
        // The Hub answers an LFS file with a redirect that carries X-Linked-Etag, X-Linked-Size and X-Repo-Commit; the
        // CDN's answer has none of them.
        var redirect = new Dictionary<string, string>(LfsHeaders(Good)) { ["Location"] = "/cdn/blob" };
        bool truncate = true;
        using var server = new LocalHttpServer((path, _) => path == TrainPath
            ? new ServerResponse(302, [], redirect)
            : new ServerResponse(200, truncate ? Good[..(Good.Length / 2)] : Good, SendContentLength: false));
        using var cache = new TempDirectory();

        await Assert.ThrowsAsync<HttpRequestException>(() =>
            HhRlhfDataset.LoadFromHubAsync(HhRlhfSubset.Harmless, HhRlhfSplit.Train, Options(server, cache)));
        Assert.Empty(CachedFiles(cache));

        truncate = false;
        var dataset = await HhRlhfDataset.LoadFromHubAsync(HhRlhfSubset.Harmless, HhRlhfSplit.Train, Options(server, cache));
        Assert.Equal(3, dataset.Count);
        Assert.Equal(Good, File.ReadAllBytes(SnapshotPath(cache, Commit)));
        Assert.Equal(Commit, File.ReadAllText(cache.Combine("datasets--Anthropic--hh-rlhf", "refs", "main")));
    }

    [Fact]
    public async Task ACachedFileThatFailsToParseIsDroppedAndFetchedAgainOnce()
    {
        using var cache = new TempDirectory();
        string poisoned = SnapshotPath(cache, "main");
        Directory.CreateDirectory(Path.GetDirectoryName(poisoned)!);
        File.WriteAllBytes(poisoned, Good[..(Good.Length / 2)]); // what an unverified truncated download left
        using var server = new LocalHttpServer((_, _) => new ServerResponse(200, Good, new Dictionary<string, string> { ["X-Linked-Etag"] = $"\"{Sha256Of(Good)}\"" }));
        var logger = new ListLogger();

        var dataset = await HhRlhfDataset.LoadFromHubAsync(HhRlhfSubset.Harmless, HhRlhfSplit.Train, Options(server, cache), logger: logger);

        Assert.Equal(3, dataset.Count);
        Assert.Equal(1, server.RequestCount);
        Assert.Equal(Good, File.ReadAllBytes(poisoned));
        Assert.Contains(logger.Entries, e => e.Level == Microsoft.Extensions.Logging.LogLevel.Warning && e.Message.Contains(poisoned, StringComparison.Ordinal));
    }

    [Fact]
    public async Task ADialogueSourceFromTheHubAlsoDropsACachedFileThatFailsToParseAndFetchesItAgain()
    {
        using var cache = new TempDirectory();
        string poisoned = SnapshotPath(cache, "main");
        Directory.CreateDirectory(Path.GetDirectoryName(poisoned)!);
        File.WriteAllBytes(poisoned, Good[..(Good.Length / 2)]);
        using var server = new LocalHttpServer((path, _) => path == TrainPath
            ? new ServerResponse(200, Good, new Dictionary<string, string> { ["X-Linked-Etag"] = $"\"{Sha256Of(Good)}\"" })
            : new ServerResponse(404, []));

        var source = await DialogueSource.FromHubAsync(DialogueDataset.HhRlhfSplitOnly(HhRlhfSubset.Harmless, HhRlhfSplit.Train), Options(server, cache));

        Assert.Equal([poisoned], source.TrainFiles);
        Assert.Equal(1, server.RequestCount);
        Assert.Equal(Good, File.ReadAllBytes(poisoned));
    }

    [Fact]
    public async Task OfflineACachedFileThatFailsToParseNamesTheFileToDelete()
    {
        using var cache = new TempDirectory();
        string poisoned = SnapshotPath(cache, "main");
        Directory.CreateDirectory(Path.GetDirectoryName(poisoned)!);
        File.WriteAllBytes(poisoned, Good[..(Good.Length / 2)]);
        var options = new HuggingFaceHubOptions { Endpoint = "http://127.0.0.1:9", CacheDirectory = cache.Path, Offline = true };

        var e = await Assert.ThrowsAsync<InvalidDataException>(() => HhRlhfDataset.LoadFromHubAsync(HhRlhfSubset.Harmless, HhRlhfSplit.Train, options));

        Assert.Contains($"delete '{poisoned}'", e.Message, StringComparison.Ordinal);
        Assert.Contains("HuggingFaceHubOptions.Offline", e.Message, StringComparison.Ordinal);
        Assert.True(File.Exists(poisoned)); // offline, nothing can replace it: it is left for the caller to judge
    }

    [Fact]
    public async Task AFreshlyDownloadedFileThatFailsToParseIsNotFetchedAgainNorKept()
    {
        byte[] verifiedButBad = Fixtures.Gzip(Encoding.UTF8.GetBytes("not json\n"));
        using var server = new LocalHttpServer((_, _) => new ServerResponse(200, verifiedButBad, new Dictionary<string, string> { ["X-Linked-Etag"] = $"\"{Sha256Of(verifiedButBad)}\"" }));
        using var cache = new TempDirectory();

        var e = await Assert.ThrowsAsync<InvalidDataException>(() =>
            HhRlhfDataset.LoadFromHubAsync(HhRlhfSubset.Harmless, HhRlhfSplit.Train, Options(server, cache)));

        Assert.Contains("line 1", e.Message, StringComparison.Ordinal);
        Assert.Contains(server.Endpoint + TrainPath, e.Message, StringComparison.Ordinal);
        Assert.Equal(1, server.RequestCount);
        Assert.False(File.Exists(SnapshotPath(cache, "main")));
    }

    [Fact]
    public async Task StaleTemporaryFilesAreRemovedWhenADownloadStartsAndFreshOnesAreKept()
    {
        using var cache = new TempDirectory();
        string blobs = cache.Combine("datasets--Anthropic--hh-rlhf", "blobs");
        string snapshotDir = Path.GetDirectoryName(SnapshotPath(cache, "main"))!;
        Directory.CreateDirectory(blobs);
        Directory.CreateDirectory(snapshotDir);
        var old = DateTime.UtcNow - TimeSpan.FromHours(2);
        string Make(string directory, string name, DateTime? written = null)
        {
            string path = Path.Combine(directory, name);
            File.WriteAllBytes(path, [1, 2, 3]);
            File.SetLastWriteTimeUtc(path, written ?? DateTime.UtcNow);
            return path;
        }

        string[] stale =
        [
            Make(blobs, $".download.{Guid.NewGuid():N}.tmp", old),
            Make(blobs, $"{new string('c', 64)}.incomplete", old),
            Make(snapshotDir, $".train.jsonl.gz.{Guid.NewGuid():N}.tmp", old),
        ];
        string[] live =
        [
            Make(blobs, $".download.{Guid.NewGuid():N}.tmp"),
            Make(blobs, $"{new string('d', 64)}.incomplete"),
            Make(snapshotDir, $".train.jsonl.gz.{Guid.NewGuid():N}.tmp"),
            Make(blobs, "unrelated.txt", old),
        ];
        using var server = new LocalHttpServer((_, _) => new ServerResponse(200, Good, new Dictionary<string, string> { ["X-Linked-Etag"] = $"\"{Sha256Of(Good)}\"" }));

        await HhRlhfDataset.LoadFromHubAsync(HhRlhfSubset.Harmless, HhRlhfSplit.Train, Options(server, cache));

        Assert.All(stale, path => Assert.False(File.Exists(path), path));
        Assert.All(live, path => Assert.True(File.Exists(path), path));
    }

    [Fact]
    public async Task DeleteCachedFileRemovesTheSnapshotEntryAndItsBlob()
    {
        using var server = new LocalHttpServer((_, _) => new ServerResponse(200, Good, LfsHeaders(Good)));
        using var cache = new TempDirectory();
        var downloader = new HuggingFaceHubDownloader(Options(server, cache));
        string path = await downloader.GetFileAsync(HhRlhfLayout.RepositoryId, "harmless-base/train.jsonl.gz");
        Assert.Equal(SnapshotPath(cache, Commit), path);

        Assert.True(downloader.DeleteCachedFile(HhRlhfLayout.RepositoryId, "harmless-base/train.jsonl.gz"));

        Assert.False(File.Exists(path));
        Assert.False(File.Exists(cache.Combine("datasets--Anthropic--hh-rlhf", "blobs", Sha256Of(Good))));
        Assert.False(downloader.DeleteCachedFile(HhRlhfLayout.RepositoryId, "harmless-base/train.jsonl.gz"));
    }
}
