using System.Net;
using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using NewLlm.Data.Tests.Infrastructure;
using NewLlm.Tests;

namespace NewLlm.Data.Tests;

public class HubDownloadTests
{
    private const string TestPath = "/datasets/Anthropic/hh-rlhf/resolve/main/harmless-base/test.jsonl.gz";

    private static byte[] SharedBytes()
    {
        SharedData.SkipUnlessExists(SharedData.HarmlessTestFile);
        return File.ReadAllBytes(SharedData.HarmlessTestFile);
    }

    private static HuggingFaceHubOptions Options(LocalHttpServer server, TempDirectory cache) => server.HubOptions(cache);

    private static string[] CachedFiles(TempDirectory cache) => Directory.GetFiles(cache.Path, "*", SearchOption.AllDirectories);

    [SkippableFact]
    public async Task DownloadVerifiesCachesAndSecondCallMakesNoRequest()
    {
        byte[] bytes = SharedBytes();
        using var server = new LocalHttpServer((path, _) => path == TestPath ? new ServerResponse(200, bytes) : new ServerResponse(404, []));
        using var cache = new TempDirectory();
        var options = Options(server, cache);
        options.Token = "hf_secret";
        var progress = new RecordingProgress();

        var first = await HhRlhfDataset.LoadFromHubAsync(HhRlhfSubset.Harmless, HhRlhfSplit.Test, options, progress);
        Assert.Equal(2312, first.Count);
        Assert.Equal(1, server.RequestCount);
        Assert.True(server.Requests.TryPeek(out var request));
        Assert.Equal("Bearer hf_secret", request.Authorization);
        Assert.Equal(bytes.Length, progress.Reports[^1].BytesReceived);
        Assert.Equal(bytes.Length, progress.Reports[^1].TotalBytes);
        Assert.Equal("harmless-base/test.jsonl.gz", progress.Reports[^1].FileName);

        string sha = Convert.ToHexStringLower(SHA256.HashData(bytes));
        string repo = Path.Combine(cache.Path, "datasets--Anthropic--hh-rlhf");
        Assert.True(File.Exists(Path.Combine(repo, "blobs", sha)));
        Assert.True(File.Exists(Path.Combine(repo, "snapshots", "main", "harmless-base", "test.jsonl.gz")));
        Assert.Equal(2, CachedFiles(cache).Length);

        var second = await HhRlhfDataset.LoadFromHubAsync(HhRlhfSubset.Harmless, HhRlhfSplit.Test, options);
        Assert.Equal(1, server.RequestCount);
        Assert.Equal(first.SourceChecksum, second.SourceChecksum);
    }

    [SkippableFact]
    public async Task DownloadCorruptBodyThrowsAndCachesNothing()
    {
        byte[] bytes = SharedBytes().ToArray();
        bytes[bytes.Length / 2] ^= 0x55;
        using var server = new LocalHttpServer((_, _) => new ServerResponse(200, bytes));
        using var cache = new TempDirectory();
        var e = await Assert.ThrowsAsync<InvalidDataException>(() =>
            HhRlhfDataset.LoadFromHubAsync(HhRlhfSubset.Harmless, HhRlhfSplit.Test, Options(server, cache)));
        Assert.Contains("sha256", e.Message, StringComparison.Ordinal);
        Assert.Contains("harmless-base/test.jsonl.gz", e.Message, StringComparison.Ordinal);
        Assert.Empty(CachedFiles(cache));
    }

    [SkippableFact]
    public async Task DownloadDroppedConnectionIsRetried()
    {
        byte[] bytes = SharedBytes();
        using var server = new LocalHttpServer((_, n) => new ServerResponse(200, bytes, DropAfterBytes: n == 1 ? bytes.Length / 3 : null));
        using var cache = new TempDirectory();
        var dataset = await HhRlhfDataset.LoadFromHubAsync(HhRlhfSubset.Harmless, HhRlhfSplit.Test, Options(server, cache));
        Assert.Equal(2312, dataset.Count);
        Assert.Equal(2, server.RequestCount);
        Assert.Equal(2, CachedFiles(cache).Length);
    }

    [SkippableFact]
    public async Task DownloadAlwaysDroppedFailsAfterRetriesAndCachesNothing()
    {
        byte[] bytes = SharedBytes();
        using var server = new LocalHttpServer((_, _) => new ServerResponse(200, bytes, DropAfterBytes: 1000));
        using var cache = new TempDirectory();
        var e = await Assert.ThrowsAsync<HttpRequestException>(() =>
            HhRlhfDataset.LoadFromHubAsync(HhRlhfSubset.Harmless, HhRlhfSplit.Test, Options(server, cache)));
        Assert.Equal(3, server.RequestCount); // 1 + MaxRetries
        Assert.Contains(server.Endpoint, e.Message, StringComparison.Ordinal);
        Assert.Empty(CachedFiles(cache));
    }

    [Fact]
    public async Task DownloadNotFoundNamesTheUrl()
    {
        using var server = new LocalHttpServer((_, _) => new ServerResponse(404, []));
        using var cache = new TempDirectory();
        var e = await Assert.ThrowsAsync<HttpRequestException>(() =>
            HhRlhfDataset.LoadFromHubAsync(HhRlhfSubset.Harmless, HhRlhfSplit.Test, Options(server, cache)));
        Assert.Equal(HttpStatusCode.NotFound, e.StatusCode);
        Assert.Contains(server.Endpoint + TestPath, e.Message, StringComparison.Ordinal);
        Assert.Equal(1, server.RequestCount); // a 404 is not retried
        Assert.Empty(CachedFiles(cache));
    }

    [Fact]
    public async Task DownloadServerErrorIsRetried()
    {
        byte[] gz = Fixtures.Gzip(Fixtures.JsonLines(Fixtures.Dialogues));
        string sha = Convert.ToHexStringLower(SHA256.HashData(gz));
        var headers = new Dictionary<string, string> { ["X-Linked-Etag"] = $"\"{sha}\"" };
        using var server = new LocalHttpServer((_, n) => n == 1 ? new ServerResponse(503, []) : new ServerResponse(200, gz, headers));
        using var cache = new TempDirectory();
        var dataset = await HhRlhfDataset.LoadFromHubAsync(HhRlhfSubset.Harmless, HhRlhfSplit.Train, Options(server, cache));
        Assert.Equal(3, dataset.Count);
        Assert.Equal(2, server.RequestCount);
    }

    [Fact]
    public async Task DownloadRetriesAreReportedThroughProgressAndLogThenTheDownloadSucceeds()
    {
        byte[] gz = Fixtures.Gzip(Fixtures.JsonLines(Fixtures.Dialogues));
        string sha = Convert.ToHexStringLower(SHA256.HashData(gz));
        var headers = new Dictionary<string, string> { ["X-Linked-Etag"] = $"\"{sha}\"" };
        using var server = new LocalHttpServer((_, n) => n == 1 ? new ServerResponse(503, []) : new ServerResponse(200, gz, headers));
        using var cache = new TempDirectory();
        var progress = new RecordingProgress();
        var logger = new ListLogger();

        var dataset = await HhRlhfDataset.LoadFromHubAsync(HhRlhfSubset.Harmless, HhRlhfSplit.Train, Options(server, cache), progress, logger);

        Assert.Equal(3, dataset.Count);
        var retry = Assert.Single(progress.Reports, r => r.Retry is not null).Retry!;
        Assert.Equal((2, 3), (retry.Attempt, retry.MaxAttempts));
        Assert.InRange(retry.Delay, TimeSpan.Zero, TimeSpan.FromMilliseconds(100)); // about 10 ms, with jitter
        Assert.Contains("503", retry.Reason, StringComparison.Ordinal);
        string line = retry.ToString();
        Assert.Matches(@"^retrying harmless-base/train\.jsonl\.gz in \d+ ms \(attempt 2 of 3\): ", line);
        Assert.Contains(logger.Entries, e => e.Level == Microsoft.Extensions.Logging.LogLevel.Warning && e.Message.Contains(line, StringComparison.Ordinal));
        Assert.Equal(gz.Length, progress.Reports[^1].BytesReceived);
        Assert.Null(progress.Reports[^1].Retry);
    }

    [Fact]
    public void DownloadRetryLineGivesTheDelayInSecondsFromOneSecondOn()
    {
        var retry = new DownloadRetry("helpful-base/train.jsonl.gz", 2, 5, TimeSpan.FromSeconds(2), "GET ... returned 503 Service Unavailable.");
        Assert.Equal("retrying helpful-base/train.jsonl.gz in 2 s (attempt 2 of 5): GET ... returned 503 Service Unavailable.", retry.ToString());
        Assert.Contains("in 1.5 s", (retry with { Delay = TimeSpan.FromMilliseconds(1500) }).ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(401)]
    [InlineData(403)]
    public async Task DownloadRefusedForAccessNamesTheTokenOptionNotACommandLineFlag(int status)
    {
        using var server = new LocalHttpServer((_, _) => new ServerResponse(status, []));
        using var cache = new TempDirectory();
        var e = await Assert.ThrowsAsync<HttpRequestException>(() =>
            HhRlhfDataset.LoadFromHubAsync(HhRlhfSubset.Harmless, HhRlhfSplit.Test, Options(server, cache)));
        Assert.Contains("HuggingFaceHubOptions.Token", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("--", e.Message.Replace("datasets--", string.Empty, StringComparison.Ordinal), StringComparison.Ordinal);
    }

    [Fact]
    public async Task DownloadUnknownChecksumUsesLinkedEtag()
    {
        // harmless-base/train has no published checksum: the server's X-Linked-Etag is checked instead.
        byte[] gz = Fixtures.Gzip(Fixtures.JsonLines(Fixtures.Dialogues));
        var wrong = new Dictionary<string, string> { ["X-Linked-Etag"] = $"\"{new string('a', 64)}\"" };
        using var server = new LocalHttpServer((_, _) => new ServerResponse(200, gz, wrong));
        using var cache = new TempDirectory();
        await Assert.ThrowsAsync<InvalidDataException>(() =>
            HhRlhfDataset.LoadFromHubAsync(HhRlhfSubset.Harmless, HhRlhfSplit.Train, Options(server, cache)));
        Assert.Empty(CachedFiles(cache));
    }

    [Fact]
    public async Task OfflineWithNothingCachedThrowsFileNotFound()
    {
        using var cache = new TempDirectory();
        var options = new HuggingFaceHubOptions { Endpoint = "http://127.0.0.1:9", CacheDirectory = cache.Path, Offline = true };
        var e = await Assert.ThrowsAsync<FileNotFoundException>(() => HhRlhfDataset.LoadFromHubAsync(HhRlhfSubset.Harmless, HhRlhfSplit.Test, options));
        Assert.Contains("HF_HUB_OFFLINE", e.Message, StringComparison.Ordinal);
        Assert.Contains("HuggingFaceHubOptions.Offline", e.Message, StringComparison.Ordinal);
        Assert.Contains("harmless-base/test.jsonl.gz", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OfflineUsesCacheResolvedThroughRefs()
    {
        byte[] gz = Fixtures.Gzip(Fixtures.JsonLines(Fixtures.Dialogues));
        const string commit = "0123456789abcdef0123456789abcdef01234567";
        var headers = new Dictionary<string, string> { ["X-Repo-Commit"] = commit };
        using var cache = new TempDirectory();
        using (var server = new LocalHttpServer((_, _) => new ServerResponse(200, gz, headers)))
        {
            await HhRlhfDataset.LoadFromHubAsync(HhRlhfSubset.Harmless, HhRlhfSplit.Train, Options(server, cache));
        }

        string repo = Path.Combine(cache.Path, "datasets--Anthropic--hh-rlhf");
        Assert.Equal(commit, File.ReadAllText(Path.Combine(repo, "refs", "main")));
        Assert.True(File.Exists(Path.Combine(repo, "snapshots", commit, "harmless-base", "train.jsonl.gz")));
        var offline = new HuggingFaceHubOptions { Endpoint = "http://127.0.0.1:9", CacheDirectory = cache.Path, Offline = true };
        var dataset = await HhRlhfDataset.LoadFromHubAsync(HhRlhfSubset.Harmless, HhRlhfSplit.Train, offline);
        Assert.Equal(3, dataset.Count);
    }

    [Fact]
    public void OptionsFromEnvironmentReadsHfVariables()
    {
        string[] names = ["HF_ENDPOINT", "HF_TOKEN", "HF_HUB_CACHE", "HF_HOME", "HF_HUB_OFFLINE"];
        string?[] saved = names.Select(Environment.GetEnvironmentVariable).ToArray();
        try
        {
            Environment.SetEnvironmentVariable("HF_ENDPOINT", "http://127.0.0.1:1234");
            Environment.SetEnvironmentVariable("HF_TOKEN", "tok");
            Environment.SetEnvironmentVariable("HF_HUB_CACHE", null);
            Environment.SetEnvironmentVariable("HF_HOME", "/tmp/hf-home");
            Environment.SetEnvironmentVariable("HF_HUB_OFFLINE", "1");
            var options = HuggingFaceHubOptions.FromEnvironment();
            Assert.Equal(("http://127.0.0.1:1234", "tok", Path.Combine("/tmp/hf-home", "hub"), true),
                (options.Endpoint, options.Token, options.CacheDirectory, options.Offline));
            Environment.SetEnvironmentVariable("HF_HUB_CACHE", "/tmp/hf-cache");
            Environment.SetEnvironmentVariable("HF_HUB_OFFLINE", null);
            options = HuggingFaceHubOptions.FromEnvironment();
            Assert.Equal(("/tmp/hf-cache", false), (options.CacheDirectory, options.Offline));
        }
        finally
        {
            for (int i = 0; i < names.Length; i++)
            {
                Environment.SetEnvironmentVariable(names[i], saved[i]);
            }
        }
    }

    [Theory]
    [InlineData("Endpoint")]
    [InlineData("MaxRetries")]
    [InlineData("Revision")]
    public async Task OptionsInvalidValueThrowsNamingTheOption(string option)
    {
        var options = new HuggingFaceHubOptions { CacheDirectory = "/tmp/x" };
        switch (option)
        {
            case "Endpoint": options.Endpoint = "ftp://nope"; break;
            case "MaxRetries": options.MaxRetries = -1; break;
            default: options.Revision = "../etc"; break;
        }

        var e = await Assert.ThrowsAsync<OptionsValidationException>(() => HhRlhfDataset.LoadFromHubAsync(HhRlhfSubset.Harmless, HhRlhfSplit.Test, options));
        Assert.Contains(option, e.Message, StringComparison.Ordinal);
        Assert.Equal(typeof(HuggingFaceHubOptions), e.OptionsType);
    }

    private sealed class RecordingProgress : IProgress<DownloadProgress>
    {
        public List<DownloadProgress> Reports { get; } = [];

        public void Report(DownloadProgress value)
        {
            lock (Reports)
            {
                Reports.Add(value);
            }
        }
    }
}
