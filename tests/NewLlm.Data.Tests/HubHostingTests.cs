using System.Security.Cryptography;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using NewLlm.Data.Tests.Infrastructure;
using NewLlm.Tests;

namespace NewLlm.Data.Tests;

public class HubHostingTests
{
    private static IConfiguration Configuration(params (string Key, string Value)[] values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => KeyValuePair.Create(v.Key, (string?)v.Value))).Build();

    [Fact]
    public async Task AddNewLlmDataBindsTheHubSectionAndDownloadsThroughTheFactorysNamedClient()
    {
        byte[] body = "hello hub"u8.ToArray();
        var headers = new Dictionary<string, string> { ["X-Linked-Etag"] = $"\"{Convert.ToHexStringLower(SHA256.HashData(body))}\"" };
        using var server = new LocalHttpServer((_, _) => new ServerResponse(200, body, headers));
        using var cache = new TempDirectory();
        var services = new ServiceCollection().AddNewLlmData(Configuration(
            ("Hub:Endpoint", server.Endpoint), ("Hub:CacheDirectory", cache.Path), ("Hub:Offline", "false"), ("Hub:Revision", "v1"), ("Corpus:MaxSequenceLength", "64")));
        int sent = 0;
        services.AddHttpClient(NewLlmDataServiceCollectionExtensions.HubHttpClientName).AddHttpMessageHandler(() => new CountingHandler(() => sent++));
        using var provider = services.BuildServiceProvider();

        Assert.Equal("v1", provider.GetRequiredService<IOptions<HuggingFaceHubOptions>>().Value.Revision);
        Assert.Equal(64, provider.GetRequiredService<IOptions<TokenizedCorpusOptions>>().Value.MaxSequenceLength);
        string file = await provider.GetRequiredService<HuggingFaceHubDownloader>().GetFileAsync("owner/data", "a.txt");

        Assert.Equal(body, await File.ReadAllBytesAsync(file));
        Assert.StartsWith(cache.Path, file, StringComparison.Ordinal);
        Assert.Equal(1, sent);
    }

    [Theory]
    [InlineData("Hub:MaxRetries", "-1", "HuggingFaceHubOptions.MaxRetries must be between 0 and 100, but is -1.")]
    [InlineData("Hub:Endpoint", "ftp://nope", "HuggingFaceHubOptions.Endpoint must be an absolute http(s) URL")]
    [InlineData("Corpus:MaxSequenceLength", "0", "TokenizedCorpusOptions.MaxSequenceLength")]
    public async Task ABadValueInTheConfigurationStopsTheHostAtStartNamingTheOption(string key, string value, string message)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection([KeyValuePair.Create($"NewLlm:{key}", (string?)value)]);
        builder.Services.AddNewLlmData(builder.Configuration.GetSection("NewLlm"));
        using var host = builder.Build();

        var e = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ARetryWaitsTheServersRetryAfterInsteadOfTheBackoff()
    {
        byte[] body = "after the wait"u8.ToArray();
        var headers = new Dictionary<string, string> { ["X-Linked-Etag"] = $"\"{Convert.ToHexStringLower(SHA256.HashData(body))}\"" };
        using var server = new LocalHttpServer((_, n) => n == 1
            ? new ServerResponse(429, [], new Dictionary<string, string> { ["Retry-After"] = "1" })
            : new ServerResponse(200, body, headers));
        using var cache = new TempDirectory();
        var retries = new List<DownloadRetry>();

        var watch = System.Diagnostics.Stopwatch.StartNew();
        await new HuggingFaceHubDownloader(server.HubOptions(cache)).GetFileAsync(
            "owner/data", "b.txt", progress: new Progress(p => { if (p.Retry is { } r) { retries.Add(r); } }));

        Assert.Equal(TimeSpan.FromSeconds(1), Assert.Single(retries).Delay);
        Assert.True(watch.Elapsed >= TimeSpan.FromSeconds(0.9), $"waited only {watch.Elapsed}");
        Assert.Equal(2, server.RequestCount);
    }

    [Fact]
    public void NewOptionsAreTheDefaultsAndReadEnvironmentTakesTheVariablesThatAreSet()
    {
        string?[] saved = [Environment.GetEnvironmentVariable("HF_ENDPOINT"), Environment.GetEnvironmentVariable("HF_TOKEN")];
        try
        {
            Environment.SetEnvironmentVariable("HF_ENDPOINT", "http://127.0.0.1:4321");
            Environment.SetEnvironmentVariable("HF_TOKEN", null);
            var options = new HuggingFaceHubOptions { Token = "kept" };
            Assert.Equal(HuggingFaceHubOptions.DefaultEndpoint, options.Endpoint);

            Assert.Same(options, options.ReadEnvironment());
            Assert.Equal(("http://127.0.0.1:4321", "kept"), (options.Endpoint, options.Token));
        }
        finally
        {
            Environment.SetEnvironmentVariable("HF_ENDPOINT", saved[0]);
            Environment.SetEnvironmentVariable("HF_TOKEN", saved[1]);
        }
    }

    private sealed class CountingHandler(Action onSend) : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            onSend();
            return base.SendAsync(request, cancellationToken);
        }
    }

    private sealed class Progress(Action<DownloadProgress> report) : IProgress<DownloadProgress>
    {
        public void Report(DownloadProgress value) => report(value);
    }
}
