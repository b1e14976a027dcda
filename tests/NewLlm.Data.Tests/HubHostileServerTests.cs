using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using NewLlm.Data.Tests.Infrastructure;
using NewLlm.Tests;

namespace NewLlm.Data.Tests;

/// <summary>Downloads stay bounded against a hostile or broken server, and a damaged cache says what happened to it.</summary>
public class HubHostileServerTests
{
    private const string Repository = "Anthropic/hh-rlhf";
    private const string File = "harmless-base/train.jsonl.gz";

    private static readonly byte[] Good = Fixtures.Gzip(Fixtures.JsonLines(Fixtures.Dialogues));

    private static string Sha256Of(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    private static HuggingFaceHubOptions Options(LocalHttpServer server, TempDirectory cache) => server.HubOptions(cache, maxRetries: 1);

    private static Dictionary<string, string> LfsHeaders(byte[] file) => new()
    {
        ["X-Linked-Etag"] = $"\"{Sha256Of(file)}\"",
        ["X-Linked-Size"] = file.Length.ToString(CultureInfo.InvariantCulture),
    };

    private static string[] CachedFiles(TempDirectory cache) =>
        Directory.Exists(cache.Path) ? Directory.GetFiles(cache.Path, "*", SearchOption.AllDirectories) : [];

    [Fact]
    public async Task ABodyWithoutEndIsStoppedOneBytePastTheLinkedSizeNotRetriedAndNothingIsCached()
    {
        // 400 MB more than the X-Linked-Size, without a Content-Length: only the size the Hub announced bounds the read.
        using var server = new LocalHttpServer((_, _) => new ServerResponse(200, Good, LfsHeaders(Good), SendContentLength: false, ExtraBytes: 400L << 20));
        using var cache = new TempDirectory();
        var downloader = new HuggingFaceHubDownloader(Options(server, cache));

        var e = await Assert.ThrowsAsync<InvalidDataException>(() => downloader.GetFileAsync(Repository, File));

        Assert.Contains($"sent more than {Good.Length} bytes (the server's X-Linked-Size)", e.Message, StringComparison.Ordinal);
        Assert.Contains(File, e.Message, StringComparison.Ordinal);
        Assert.Contains(server.Endpoint, e.Message, StringComparison.Ordinal);
        Assert.Contains("nothing was cached", e.Message, StringComparison.Ordinal);
        Assert.Equal(1, server.RequestCount); // a server sending another file is not a transient failure
        Assert.Empty(CachedFiles(cache));
        Assert.True(server.BytesSent < 200L << 20, $"the server wrote {server.BytesSent} bytes before the client stopped reading");
    }

    [Fact]
    public async Task ABodyLongerThanTheExpectedSizeIsRefusedFromItsContentLengthWithoutReadingIt()
    {
        byte[] longer = [.. Good, .. new byte[10_000]];
        using var server = new LocalHttpServer((_, _) => new ServerResponse(200, longer));
        using var cache = new TempDirectory();
        var downloader = new HuggingFaceHubDownloader(Options(server, cache));

        var e = await Assert.ThrowsAsync<InvalidDataException>(() =>
            downloader.GetFileAsync(Repository, File, Sha256Of(Good), Good.Length));

        Assert.Contains($"announces {longer.Length} bytes (the Content-Length); expected {Good.Length} (the expected size)", e.Message, StringComparison.Ordinal);
        Assert.Contains(File, e.Message, StringComparison.Ordinal);
        Assert.Empty(CachedFiles(cache));
    }

    [Fact]
    public async Task AServerThatStallsMidBodyTimesOutNamingTheFileAndTheReadTimeout()
    {
        using var server = new LocalHttpServer((_, _) => new ServerResponse(200, Good, LfsHeaders(Good), StallAfterBytes: 10));
        using var cache = new TempDirectory();
        var options = Options(server, cache);
        options.ReadTimeout = TimeSpan.FromMilliseconds(300);
        var clock = Stopwatch.StartNew();

        var e = await Assert.ThrowsAsync<HttpRequestException>(() => new HuggingFaceHubDownloader(options).GetFileAsync(Repository, File));

        Assert.IsType<TimeoutException>(e.InnerException);
        Assert.Contains("timed out", e.Message, StringComparison.Ordinal);
        Assert.Contains("sent nothing for 0.3 s (HuggingFaceHubOptions.ReadTimeout)", e.Message, StringComparison.Ordinal);
        Assert.Contains(File, e.Message, StringComparison.Ordinal);
        Assert.Contains("failed after 2 attempt(s)", e.Message, StringComparison.Ordinal);
        Assert.Equal(2, server.RequestCount); // retried once, like a dropped connection
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), $"took {clock.Elapsed}");
        Assert.Empty(CachedFiles(cache));
    }

    [Fact]
    public async Task AServerThatNeverAnswersTimesOutToo()
    {
        using var server = new LocalHttpServer((_, _) => new ServerResponse(200, Good, StallAfterBytes: -1));
        using var cache = new TempDirectory();
        var options = Options(server, cache);
        options.MaxRetries = 0;
        options.ReadTimeout = TimeSpan.FromMilliseconds(300);

        var e = await Assert.ThrowsAsync<HttpRequestException>(() => new HuggingFaceHubDownloader(options).GetFileAsync(Repository, File));

        Assert.Contains("timed out: the server sent nothing for 0.3 s", e.Message, StringComparison.Ordinal);
        Assert.Equal(1, server.RequestCount);
    }

    [Fact]
    public async Task ARequestPastItsDeadlineTimesOutNamingTheRequestTimeout()
    {
        using var server = new LocalHttpServer((_, _) => new ServerResponse(200, Good, LfsHeaders(Good), StallAfterBytes: 10));
        using var cache = new TempDirectory();
        var options = Options(server, cache);
        options.MaxRetries = 0;
        options.RequestTimeout = TimeSpan.FromMilliseconds(400);
        options.ReadTimeout = TimeSpan.FromSeconds(60);

        var e = await Assert.ThrowsAsync<HttpRequestException>(() => new HuggingFaceHubDownloader(options).GetFileAsync(Repository, File));

        Assert.Contains("timed out: it did not finish within 0.4 s (HuggingFaceHubOptions.RequestTimeout)", e.Message, StringComparison.Ordinal);
        Assert.Contains(File, e.Message, StringComparison.Ordinal);
        Assert.Empty(CachedFiles(cache));
    }

    [Fact]
    public async Task TheCallersCancellationStaysACancellationNotATimeout()
    {
        using var server = new LocalHttpServer((_, _) => new ServerResponse(200, Good, LfsHeaders(Good), StallAfterBytes: 10));
        using var cache = new TempDirectory();
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));

        var e = await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            new HuggingFaceHubDownloader(Options(server, cache)).GetFileAsync(Repository, File, cancellationToken: cancel.Token));

        Assert.IsNotType<TimeoutException>(e.InnerException);
        Assert.DoesNotContain("timed out", e.Message, StringComparison.Ordinal);
        Assert.Equal(1, server.RequestCount); // never retried
        Assert.Empty(CachedFiles(cache));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void AReadTimeoutThatIsNotPositiveIsRejected(int seconds)
    {
        var options = new HuggingFaceHubOptions { ReadTimeout = TimeSpan.FromSeconds(seconds) };

        var e = Assert.Throws<OptionsValidationException>(() => new HuggingFaceHubDownloader(options));

        Assert.Contains("HuggingFaceHubOptions.ReadTimeout must be positive and at most 1 day, but is", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OfflineACachedFileThatFailsItsChecksumIsRemovedAndTheErrorSaysWhy()
    {
        using var server = new LocalHttpServer((_, _) => new ServerResponse(200, Good, LfsHeaders(Good)));
        using var cache = new TempDirectory();
        var options = Options(server, cache);
        string sha = Sha256Of(Good);
        string cached = await new HuggingFaceHubDownloader(options).GetFileAsync(Repository, File, sha, Good.Length);
        byte[] tampered = System.IO.File.ReadAllBytes(cached);
        tampered[^1] ^= 0xff; // same size, other bytes
        System.IO.File.WriteAllBytes(cached, tampered);
        options.Offline = true;

        var e = await Assert.ThrowsAsync<InvalidDataException>(() => new HuggingFaceHubDownloader(options).GetFileAsync(Repository, File, sha, Good.Length));

        Assert.Contains($"its sha256 is {Sha256Of(tampered)}, not the expected {sha}", e.Message, StringComparison.Ordinal);
        Assert.Contains("so it was removed", e.Message, StringComparison.Ordinal);
        Assert.Contains(cached, e.Message, StringComparison.Ordinal);
        Assert.Contains("HuggingFaceHubOptions.Offline false", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("not in the cache", e.Message, StringComparison.Ordinal);
        Assert.False(System.IO.File.Exists(cached));
        Assert.Equal(1, server.RequestCount);
    }

    [Fact]
    public async Task OfflineAPinnedHhRlhfFileOfTheWrongSizeIsRemovedAndTheErrorSaysWhy()
    {
        using var cache = new TempDirectory();
        string snapshot = cache.Combine("datasets--Anthropic--hh-rlhf", "snapshots", "main", "harmless-base", "test.jsonl.gz");
        Directory.CreateDirectory(Path.GetDirectoryName(snapshot)!);
        System.IO.File.WriteAllBytes(snapshot, Good);
        var options = new HuggingFaceHubOptions { CacheDirectory = cache.Path, Offline = true, Token = null };

        var e = await Assert.ThrowsAsync<InvalidDataException>(() => HhRlhfDataset.LoadFromHubAsync(HhRlhfSubset.Harmless, HhRlhfSplit.Test, options));

        var pinned = HhRlhfLayout.GetKnownChecksum(HhRlhfSubset.Harmless, HhRlhfSplit.Test)!.Value;
        Assert.Contains($"its size is {Good.Length} bytes, not the expected {pinned.Size}", e.Message, StringComparison.Ordinal);
        Assert.Contains("harmless-base/test.jsonl.gz", e.Message, StringComparison.Ordinal);
        Assert.Contains("was removed", e.Message, StringComparison.Ordinal);
        Assert.False(System.IO.File.Exists(snapshot));
    }

    [Fact]
    public async Task AnOrphanTemporaryIsRemovedWhenADownloadStartsAndOneAWriterHoldsIsKept()
    {
        using var cache = new TempDirectory();
        string blobs = cache.Combine("datasets--Anthropic--hh-rlhf", "blobs");
        Directory.CreateDirectory(blobs);
        var written = DateTime.UtcNow - TimeSpan.FromMinutes(1); // past the few seconds' grace, far short of an hour
        string orphan = Path.Combine(blobs, $".download.{Guid.NewGuid():N}.tmp");
        string held = Path.Combine(blobs, $".download.{Guid.NewGuid():N}.tmp");
        System.IO.File.WriteAllBytes(orphan, new byte[1000]);
        System.IO.File.SetLastWriteTimeUtc(orphan, written);
        using (var writer = new FileStream(held, FileMode.CreateNew, FileAccess.Write, FileShare.None))
        {
            writer.Write(new byte[1000]);
            writer.Flush();
            System.IO.File.SetLastWriteTimeUtc(writer.SafeFileHandle, written);
            using var server = new LocalHttpServer((_, _) => new ServerResponse(200, Good, LfsHeaders(Good)));

            await new HuggingFaceHubDownloader(Options(server, cache)).GetFileAsync(Repository, File);

            Assert.False(System.IO.File.Exists(orphan));
            Assert.True(System.IO.File.Exists(held));
        }
    }
}
