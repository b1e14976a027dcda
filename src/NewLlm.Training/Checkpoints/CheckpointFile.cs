using System.IO.Compression;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using NewLlm.Data;
using NewLlm.Training.Files;
using TorchSharp;
using static TorchSharp.torch;

namespace NewLlm.Training.Checkpoints;

/// <summary>
/// Reads and writes training checkpoints. A checkpoint is a zip container (stored, not compressed) with
/// <c>manifest.json</c> (<see cref="CheckpointManifest"/>), <c>model.bin</c> (TorchSharp module state),
/// <c>optimizer.bin</c> (optimizer state: Adam moments and step counts), <c>rng.bin</c> (torch CPU generator state)
/// and, when known, <c>tokenizer.json</c>. Every binary entry's SHA-256 is in the manifest, so truncation or corruption
/// is detected before anything is loaded. Files are written to a temporary file in the same directory and renamed
/// into place, so a crash never leaves a torn checkpoint and an existing one is only ever replaced whole.
/// </summary>
public static class CheckpointFile
{
    /// <summary>Name of the manifest entry.</summary>
    public const string ManifestEntry = "manifest.json";

    /// <summary>Name of the model weights entry.</summary>
    public const string ModelEntry = "model.bin";

    /// <summary>Name of the optimizer state entry.</summary>
    public const string OptimizerEntry = "optimizer.bin";

    /// <summary>Name of the random generator state entry.</summary>
    public const string RngEntry = "rng.bin";

    /// <summary>Name of the tokenizer entry.</summary>
    public const string TokenizerEntry = "tokenizer.json";

    internal static JsonSerializerOptions JsonOptions { get; } = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter() },
    };

    /// <summary>Reads and verifies a checkpoint's manifest (every entry's hash is checked).</summary>
    /// <param name="path">The checkpoint file.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a checkpoint, or is truncated or corrupted.</exception>
    public static CheckpointManifest ReadManifest(string path) => Read(path).Manifest;

    /// <summary>Creates a model with the checkpoint's sizes and loads its weights (for inference or fine-tuning).</summary>
    /// <param name="path">The checkpoint file.</param>
    /// <param name="device">Where to put the model; the CPU when null.</param>
    /// <exception cref="InvalidDataException">The file is not a valid checkpoint.</exception>
    public static NewLlmModel LoadModel(string path, Device? device = null)
    {
        CheckpointContents contents = Read(path);
        var model = new NewLlmModel(contents.Manifest.ModelOptions);
        LoadWeights(model, contents, path);
        if (device is not null)
        {
            model.to(device);
        }

        return model;
    }

    /// <summary>The tokenizer stored in the checkpoint, or null when none was stored.</summary>
    /// <param name="path">The checkpoint file.</param>
    /// <exception cref="InvalidDataException">The file is not a valid checkpoint.</exception>
    public static DialogueTokenizer? LoadTokenizer(string path)
    {
        CheckpointContents contents = Read(path);
        if (!contents.Entries.TryGetValue(TokenizerEntry, out byte[]? bytes))
        {
            return null;
        }

        using var stream = new MemoryStream(bytes, writable: false);
        return DialogueTokenizer.Load(stream);
    }

    internal static void LoadWeights(NewLlmModel model, CheckpointContents contents, string path)
    {
        NewLlmOptions saved = contents.Manifest.ModelOptions;
        NewLlmOptions own = model.Options;
        if (saved.VocabSize != own.VocabSize || saved.EmbedDim != own.EmbedDim || saved.HiddenDim != own.HiddenDim
            || saved.ContextDim != own.ContextDim || saved.NumLayers != own.NumLayers)
        {
            throw new InvalidDataException(
                $"{path}: the checkpoint holds a model of another shape ({Shape(saved)}) than the model given ({Shape(own)}). Create the model from the checkpoint's options (CheckpointFile.ReadManifest(path).ModelOptions).");
        }

        try
        {
            using var stream = new MemoryStream(contents.Entries[ModelEntry], writable: false);
            using var reader = new BinaryReader(stream);
            model.load(reader, strict: true);
        }
        catch (Exception ex) when (ex is not InvalidDataException)
        {
            throw new InvalidDataException($"{path}: the model weights cannot be loaded: {ex.Message}", ex);
        }
    }

    internal static string Shape(NewLlmOptions o) =>
        $"vocab {o.VocabSize}, embed {o.EmbedDim}, hidden {o.HiddenDim}, context {o.ContextDim}, layers {o.NumLayers}";

    internal static void Write(string path, CheckpointManifest manifest, IReadOnlyDictionary<string, byte[]> entries)
    {
        manifest.EntryHashes = entries.ToDictionary(kv => kv.Key, kv => Convert.ToHexStringLower(SHA256.HashData(kv.Value)), StringComparer.Ordinal);
        byte[] manifestBytes = JsonSerializer.SerializeToUtf8Bytes(manifest, JsonOptions);
        AtomicFile.Write(
            path,
            file =>
            {
                using var zip = new ZipArchive(file, ZipArchiveMode.Create, leaveOpen: true);
                AddEntry(zip, ManifestEntry, manifestBytes);
                foreach ((string name, byte[] bytes) in entries)
                {
                    AddEntry(zip, name, bytes);
                }
            },
            flushToDisk: true);
    }

    internal static CheckpointContents Read(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Checkpoint '{path}' does not exist.", path);
        }

        var entries = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        byte[]? manifestBytes = null;
        try
        {
            using var file = File.OpenRead(path);
            using var zip = new ZipArchive(file, ZipArchiveMode.Read);
            foreach (ZipArchiveEntry entry in zip.Entries)
            {
                using Stream stream = entry.Open();
                using var buffer = new MemoryStream();
                stream.CopyTo(buffer);
                if (buffer.Length != entry.Length)
                {
                    throw new InvalidDataException($"entry '{entry.FullName}' has {buffer.Length} bytes, {entry.Length} expected");
                }

                if (entry.FullName == ManifestEntry)
                {
                    manifestBytes = buffer.ToArray();
                }
                else
                {
                    entries[entry.FullName] = buffer.ToArray();
                }
            }
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException or NotSupportedException)
        {
            throw new InvalidDataException($"{path}: not a readable NewLlm checkpoint (truncated or corrupted?): {ex.Message}", ex);
        }

        if (manifestBytes is null)
        {
            throw new InvalidDataException($"{path}: not a NewLlm checkpoint: the entry '{ManifestEntry}' is missing.");
        }

        CheckpointManifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize<CheckpointManifest>(manifestBytes, JsonOptions);
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{path}: the checkpoint manifest is corrupted: {ex.Message}", ex);
        }

        if (manifest is null || manifest.Format != CheckpointManifest.FormatName)
        {
            throw new InvalidDataException($"{path}: not a NewLlm training checkpoint (format '{manifest?.Format}').");
        }

        if (manifest.Version != CheckpointManifest.CurrentVersion)
        {
            throw new InvalidDataException($"{path}: checkpoint version {manifest.Version} is not supported (this library reads version {CheckpointManifest.CurrentVersion}).");
        }

        foreach (string required in new[] { ModelEntry, OptimizerEntry, RngEntry })
        {
            if (!entries.ContainsKey(required))
            {
                throw new InvalidDataException($"{path}: the checkpoint is incomplete: entry '{required}' is missing.");
            }
        }

        foreach ((string name, byte[] bytes) in entries)
        {
            if (!manifest.EntryHashes.TryGetValue(name, out string? expected) || expected != Convert.ToHexStringLower(SHA256.HashData(bytes)))
            {
                throw new InvalidDataException($"{path}: the checkpoint is corrupted: entry '{name}' does not match its SHA-256 in the manifest.");
            }
        }

        try
        {
            manifest.ModelOptions.Validate();
        }
        catch (Microsoft.Extensions.Options.OptionsValidationException ex)
        {
            throw new InvalidDataException($"{path}: the checkpoint's model options are invalid: {ex.Message}", ex);
        }

        return new CheckpointContents(manifest, entries);
    }

    private static void AddEntry(ZipArchive zip, string name, byte[] bytes)
    {
        ZipArchiveEntry entry = zip.CreateEntry(name, CompressionLevel.NoCompression);
        using Stream stream = entry.Open();
        stream.Write(bytes);
    }
}
