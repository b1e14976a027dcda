using Microsoft.ML.Tokenizers;

namespace NewLlm.Data;

/// <summary>
/// A tokenizer for HH-RLHF dialogues, built on a Microsoft.ML.Tokenizers <see cref="Microsoft.ML.Tokenizers.Tokenizer"/>,
/// with the special ids a language model needs (padding, begin and end of dialogue, unknown) and a kind-tagged JSON
/// form that is stored next to checkpoints.
/// </summary>
public abstract class DialogueTokenizer
{
    private string? _fingerprint;

    private protected DialogueTokenizer()
    {
    }

    /// <summary>The kind tag stored in the JSON form: <c>word</c> or <c>gpt2</c>.</summary>
    public abstract string Kind { get; }

    /// <summary>The number of ids a model's embedding and output layer must hold (every id is below it).</summary>
    public abstract int VocabSize { get; }

    /// <summary>The padding id (ignored by the loss).</summary>
    public abstract int PadId { get; }

    /// <summary>The id put before a dialogue.</summary>
    public abstract int BosId { get; }

    /// <summary>The id put after a dialogue.</summary>
    public abstract int EosId { get; }

    /// <summary>The id of an unknown word (for byte-level tokenizers, which have none, the same as <see cref="EosId"/>).</summary>
    public abstract int UnkId { get; }

    /// <summary>The underlying Microsoft.ML.Tokenizers tokenizer (text to ids without special ids).</summary>
    public abstract Tokenizer Tokenizer { get; }

    /// <summary>A sha256 (lower-case hex) of the kind and the vocabulary (the JSON form): equal fingerprints encode equally.</summary>
    public string Fingerprint => _fingerprint ??= Convert.ToHexStringLower(SHA256.HashData(ToJson()));

    /// <summary>Encodes text without special ids.</summary>
    /// <param name="text">The text (normally already normalised).</param>
    /// <returns>The ids.</returns>
    public IReadOnlyList<int> Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return Tokenizer.EncodeToIds(text);
    }

    /// <summary>Encodes a dialogue as BOS, its tokens, EOS; truncated to <paramref name="maxLength"/> and padded with <see cref="PadId"/> to it.</summary>
    /// <param name="normalizedText">The whitespace-normalised dialogue.</param>
    /// <param name="maxLength">The length of the result (at least 2).</param>
    /// <returns>Exactly <paramref name="maxLength"/> ids.</returns>
    public int[] EncodeDialogue(string normalizedText, int maxLength) => EncodeDialogue(normalizedText, maxLength, out _, out _);

    /// <summary>
    /// Encodes a dialogue like <see cref="EncodeDialogue(string, int)"/> and reports how many ids are not padding and
    /// how many UTF-8 bytes of the text the kept tokens cover (for bits per byte).
    /// </summary>
    /// <param name="normalizedText">The whitespace-normalised dialogue.</param>
    /// <param name="maxLength">The length of the result (at least 2).</param>
    /// <param name="length">The number of ids that are not padding.</param>
    /// <param name="byteCount">UTF-8 bytes of <paramref name="normalizedText"/> up to the end of the last kept token.</param>
    /// <returns>Exactly <paramref name="maxLength"/> ids.</returns>
    public int[] EncodeDialogue(string normalizedText, int maxLength, out int length, out long byteCount)
    {
        ArgumentNullException.ThrowIfNull(normalizedText);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLength, 2);
        var tokens = Tokenizer.EncodeToIds(normalizedText, maxLength - 1, out string? normalized, out int charsConsumed);
        string covered = normalized ?? normalizedText;
        byteCount = Encoding.UTF8.GetByteCount(covered.AsSpan(0, Math.Min(charsConsumed, covered.Length)));
        var ids = new int[maxLength];
        ids[0] = BosId;
        int n = 1;
        foreach (int id in tokens)
        {
            ids[n++] = id;
        }

        if (n < maxLength)
        {
            ids[n++] = EosId;
        }

        length = n;
        ids.AsSpan(n).Fill(PadId);

        return ids;
    }

    /// <summary>Decodes ids to text, leaving out padding, BOS and EOS.</summary>
    /// <param name="ids">The ids.</param>
    /// <returns>The text.</returns>
    public string Decode(IEnumerable<int> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        return Tokenizer.Decode(ids.Where(id => id != PadId && id != BosId && id != EosId)) ?? string.Empty;
    }

    /// <summary>Writes the kind-tagged JSON form.</summary>
    /// <param name="stream">The destination (left open).</param>
    public void Save(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        writer.WriteStartObject();
        writer.WriteString("kind", Kind);
        writer.WriteNumber("format", 1);
        writer.WriteNumber("vocabSize", VocabSize);
        writer.WriteNumber("padId", PadId);
        writer.WriteNumber("unkId", UnkId);
        writer.WriteNumber("bosId", BosId);
        writer.WriteNumber("eosId", EosId);
        WriteVocabulary(writer);
        writer.WriteEndObject();
    }

    /// <summary>Writes the JSON form to a file (through a temporary file, then renamed).</summary>
    /// <param name="path">The file.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>A task.</returns>
    public async Task SaveAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        byte[] json = ToJson();
        await AtomicFile.WriteAsync(path, (stream, token) => stream.WriteAsync(json, token).AsTask(), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads a tokenizer from its JSON form.</summary>
    /// <param name="stream">The source.</param>
    /// <returns>The tokenizer (a <see cref="WordLevelTokenizer"/> or <see cref="Gpt2DialogueTokenizer"/>).</returns>
    /// <exception cref="InvalidDataException">The JSON is not a tokenizer this library wrote.</exception>
    public static DialogueTokenizer Load(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        try
        {
            using var json = JsonDocument.Parse(stream);
            var root = json.RootElement;
            string kind = root.GetProperty("kind").GetString() ?? string.Empty;
            int format = root.GetProperty("format").GetInt32();
            if (format != 1)
            {
                throw new InvalidDataException($"Unsupported tokenizer format {format}.");
            }

            DialogueTokenizer tokenizer = kind switch
            {
                WordLevelTokenizer.KindName => WordLevelTokenizer.FromJson(root),
                Gpt2DialogueTokenizer.KindName => Gpt2DialogueTokenizer.Create(),
                _ => throw new InvalidDataException($"Unknown tokenizer kind '{kind}'."),
            };
            if (root.GetProperty("vocabSize").GetInt32() != tokenizer.VocabSize || root.GetProperty("padId").GetInt32() != tokenizer.PadId ||
                root.GetProperty("bosId").GetInt32() != tokenizer.BosId || root.GetProperty("eosId").GetInt32() != tokenizer.EosId ||
                root.GetProperty("unkId").GetInt32() != tokenizer.UnkId)
            {
                throw new InvalidDataException($"The stored special ids or vocabulary size do not match a '{kind}' tokenizer.");
            }

            return tokenizer;
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"Not a valid tokenizer JSON: {e.Message}", e);
        }
    }

    /// <summary>Reads a tokenizer from a JSON file.</summary>
    /// <param name="path">The file.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The tokenizer.</returns>
    /// <exception cref="InvalidDataException">The file is not a tokenizer this library wrote (the message names it).</exception>
    public static async Task<DialogueTokenizer> LoadAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        byte[] bytes = await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false);
        try
        {
            return Load(new MemoryStream(bytes, writable: false));
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"'{path}': {e.Message}", e);
        }
    }

    /// <summary>Writes the kind-specific vocabulary properties of the JSON form, inside the root object.</summary>
    private protected abstract void WriteVocabulary(Utf8JsonWriter writer);

    private byte[] ToJson()
    {
        using var buffer = new MemoryStream();
        Save(buffer);
        return buffer.ToArray();
    }
}
