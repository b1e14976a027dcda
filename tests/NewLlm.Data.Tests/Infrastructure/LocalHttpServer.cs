using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace NewLlm.Data.Tests.Infrastructure;

/// <summary>
/// What the server answers to one request. <paramref name="SendContentLength"/> false leaves the header out, so the body
/// ends where the server closes the connection (a short body then looks complete to the client).
/// <paramref name="ExtraBytes"/> more bytes (zeros) follow the body, until the client stops reading;
/// <paramref name="StallAfterBytes"/> sends that many bytes of the body and then nothing, holding the connection open
/// (<c>-1</c>: not even the headers) until the server is disposed.
/// </summary>
internal sealed record ServerResponse(
    int Status, byte[] Body, IReadOnlyDictionary<string, string>? Headers = null, int? DropAfterBytes = null, bool SendContentLength = true,
    long ExtraBytes = 0, int? StallAfterBytes = null);

/// <summary>A tiny HTTP/1.1 server on 127.0.0.1 (one response per connection, then close) for download tests.</summary>
internal sealed class LocalHttpServer : IDisposable
{
    private readonly TcpListener _listener;
    private readonly Func<string, int, ServerResponse> _handler;
    private readonly CancellationTokenSource _stop = new();
    private int _requestCount;
    private long _bytesSent;

    public LocalHttpServer(Func<string, int, ServerResponse> handler)
    {
        _handler = handler;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        _ = AcceptLoopAsync();
    }

    public string Endpoint => $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

    /// <summary>Hub options that download from this server into <paramref name="cache"/>, online, without a token, retrying quickly.</summary>
    public HuggingFaceHubOptions HubOptions(NewLlm.Tests.TempDirectory cache, int maxRetries = 2) => new()
    {
        Endpoint = Endpoint,
        CacheDirectory = cache.Path,
        Token = null,
        Offline = false,
        MaxRetries = maxRetries,
        InitialRetryDelay = TimeSpan.FromMilliseconds(10),
    };

    public int RequestCount => Volatile.Read(ref _requestCount);

    public ConcurrentQueue<(string Path, string? Authorization)> Requests { get; } = new();

    /// <summary>The bytes of body (and extra bytes) written to the sockets so far.</summary>
    public long BytesSent => Interlocked.Read(ref _bytesSent);

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception)
            {
                return;
            }

            _ = HandleAsync(client);
        }
    }

    private async Task HandleAsync(TcpClient client)
    {
        using (client)
        {
            try
            {
                var stream = client.GetStream();
                var header = new StringBuilder();
                var buffer = new byte[1];
                while (!header.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
                {
                    if (await stream.ReadAsync(buffer) == 0)
                    {
                        return;
                    }

                    header.Append((char)buffer[0]);
                }

                var lines = header.ToString().Split("\r\n");
                string path = lines[0].Split(' ')[1];
                string? authorization = lines.FirstOrDefault(l => l.StartsWith("Authorization:", StringComparison.OrdinalIgnoreCase))?["Authorization:".Length..].Trim();
                Requests.Enqueue((path, authorization));
                int number = Interlocked.Increment(ref _requestCount);
                var response = _handler(path, number);
                if (response.StallAfterBytes == -1)
                {
                    await Task.Delay(Timeout.Infinite, _stop.Token).ContinueWith(_ => { }, TaskScheduler.Default);
                    return;
                }

                var head = new StringBuilder($"HTTP/1.1 {response.Status} {(response.Status == 200 ? "OK" : "Error")}\r\n");
                if (response.SendContentLength)
                {
                    head.Append($"Content-Length: {response.Body.Length}\r\n");
                }

                head.Append("Connection: close\r\nContent-Type: application/octet-stream\r\n");
                foreach (var (k, v) in response.Headers ?? new Dictionary<string, string>())
                {
                    head.Append($"{k}: {v}\r\n");
                }

                head.Append("\r\n");
                await stream.WriteAsync(Encoding.ASCII.GetBytes(head.ToString()));
                int count = Math.Min(response.DropAfterBytes ?? response.StallAfterBytes ?? response.Body.Length, response.Body.Length);
                await stream.WriteAsync(response.Body.AsMemory(0, count));
                await stream.FlushAsync();
                Interlocked.Add(ref _bytesSent, count);
                if (response.StallAfterBytes is not null)
                {
                    await Task.Delay(Timeout.Infinite, _stop.Token).ContinueWith(_ => { }, TaskScheduler.Default);
                    return;
                }

                var zeros = new byte[1 << 16];
                for (long left = response.ExtraBytes; left > 0 && !_stop.IsCancellationRequested; left -= zeros.Length)
                {
                    int n = (int)Math.Min(zeros.Length, left);
                    await stream.WriteAsync(zeros.AsMemory(0, n), _stop.Token);
                    Interlocked.Add(ref _bytesSent, n);
                }
                if (response.DropAfterBytes is not null)
                {
                    client.Client.LingerState = new LingerOption(true, 0); // reset: the body ends early
                }
            }
            catch (IOException)
            {
            }
            catch (OperationCanceledException)
            {
            }
        }
    }
}
