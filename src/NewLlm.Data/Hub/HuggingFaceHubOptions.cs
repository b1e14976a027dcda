namespace NewLlm.Data;

/// <summary>
/// Where and how to fetch files from the Hugging Face Hub. <c>new HuggingFaceHubOptions()</c> holds plain defaults;
/// <see cref="FromEnvironment"/> (what <c>HhRlhfDataset.LoadFromHubAsync</c> and the <c>newllm</c> tool use) and
/// <see cref="ReadEnvironment"/> (what <c>AddNewLlmData</c> applies before the configuration) take the environment
/// variables the <c>huggingface_hub</c> library reads: <c>HF_ENDPOINT</c>, <c>HF_TOKEN</c>, <c>HF_HUB_CACHE</c>,
/// <c>HF_HOME</c> and <c>HF_HUB_OFFLINE</c>.
/// </summary>
public sealed class HuggingFaceHubOptions
{
    /// <summary>The default endpoint when <c>HF_ENDPOINT</c> is not set.</summary>
    public const string DefaultEndpoint = "https://huggingface.co";

    /// <summary>The Hub endpoint; default <see cref="DefaultEndpoint"/> (<c>HF_ENDPOINT</c> through <see cref="ReadEnvironment"/>).</summary>
    public string Endpoint { get; set; } = DefaultEndpoint;

    /// <summary>The revision (branch, tag or commit) to download; default <c>main</c>.</summary>
    public string Revision { get; set; } = "main";

    /// <summary>The bearer token sent with requests; default none (<c>HF_TOKEN</c> through <see cref="ReadEnvironment"/>).</summary>
    public string? Token { get; set; }

    /// <summary>
    /// The Hub cache directory; default <c>~/.cache/huggingface/hub</c> (<c>HF_HUB_CACHE</c>, else <c>HF_HOME/hub</c>,
    /// through <see cref="ReadEnvironment"/>).
    /// </summary>
    public string CacheDirectory { get; set; } = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "huggingface", "hub");

    /// <summary>Use only the cache, never the network; default off (<c>HF_HUB_OFFLINE</c> set to 1, true, yes or on, through <see cref="ReadEnvironment"/>).</summary>
    public bool Offline { get; set; }

    /// <summary>How many times a transient failure (connection error, dropped connection, 408, 429, 5xx) is retried; default 4.</summary>
    public int MaxRetries { get; set; } = 4;

    /// <summary>The delay before the first retry; each further retry waits twice as long. Default 1 second.</summary>
    public TimeSpan InitialRetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The deadline of one request, from sending it to the last byte of the body; default 100 seconds. Each retry has its
    /// own. A request that passes it fails with a message saying so (retried like a dropped connection).
    /// </summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(100);

    /// <summary>
    /// How long a request may wait for the server's answer, and then for each next byte of the body, before it is given up
    /// as stalled ("timed out": retried like a dropped connection); default <see cref="DefaultReadTimeout"/> (30 seconds).
    /// A slow but moving download is never cut by it (<see cref="RequestTimeout"/> bounds the whole request).
    /// </summary>
    public TimeSpan ReadTimeout { get; set; } = DefaultReadTimeout;

    /// <summary>The default <see cref="ReadTimeout"/>: 30 seconds (<c>huggingface_hub</c> waits 10 s for a read).</summary>
    public static readonly TimeSpan DefaultReadTimeout = TimeSpan.FromSeconds(30);

    /// <summary>An HTTP client to use (not disposed); when <see langword="null"/>, one is made from <see cref="HttpMessageHandler"/> or the default handler.</summary>
    public HttpClient? HttpClient { get; set; }

    /// <summary>A handler for the client made when <see cref="HttpClient"/> is <see langword="null"/> (not disposed).</summary>
    public HttpMessageHandler? HttpMessageHandler { get; set; }

    /// <summary>The defaults with the environment read over them: <c>new HuggingFaceHubOptions().ReadEnvironment()</c>.</summary>
    /// <returns>New options.</returns>
    public static HuggingFaceHubOptions FromEnvironment() => new HuggingFaceHubOptions().ReadEnvironment();

    /// <summary>
    /// Sets each option whose <c>huggingface_hub</c> environment variable is set (and not blank): <see cref="Endpoint"/>
    /// from <c>HF_ENDPOINT</c>, <see cref="Token"/> from <c>HF_TOKEN</c>, <see cref="CacheDirectory"/> from
    /// <c>HF_HUB_CACHE</c> (else <c>HF_HOME/hub</c>), <see cref="Offline"/> from <c>HF_HUB_OFFLINE</c> (1, true, yes or
    /// on); the others keep their values. This is the one place the library reads these variables.
    /// </summary>
    /// <returns>These options.</returns>
    public HuggingFaceHubOptions ReadEnvironment()
    {
        Endpoint = Variable("HF_ENDPOINT") ?? Endpoint;
        Token = Variable("HF_TOKEN") ?? Token;
        CacheDirectory = Variable("HF_HUB_CACHE") ?? (Variable("HF_HOME") is { } home ? Path.Combine(home, "hub") : CacheDirectory);
        Offline = Variable("HF_HUB_OFFLINE") is { } offline ? IsTrue(offline) : Offline;
        return this;
    }

    private static string? Variable(string name) => NonEmpty(Environment.GetEnvironmentVariable(name));

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;

    private static bool IsTrue(string? value) =>
        value?.Trim().ToUpperInvariant() is "1" or "TRUE" or "YES" or "ON";
}
