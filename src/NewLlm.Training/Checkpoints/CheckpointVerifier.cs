using System.IO.Compression;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace NewLlm.Training;

/// <summary>
/// Verifies a training checkpoint file before anything in it is used, bounded by what its manifest declares: a record
/// the manifest does not list is refused before anything is read, every record's declared size is checked (the
/// tensors' together against the model's own size, as the manifest's model options give it), then every record is
/// streamed through its zip CRC-32 and its SHA-256 (the .NET 10 <see cref="ZipArchive"/> checks no CRC), holding only
/// NewLlm's small records in memory.
/// </summary>
internal static class CheckpointVerifier
{
    /// <summary>The largest manifest read (a run of thousands of epochs has a manifest of a few megabytes).</summary>
    private const long MaxManifestBytes = 64L << 20;

    /// <summary>The largest data.pkl read, as PyTorchCheckpoint.Read reads it.</summary>
    private const long MaxPickleBytes = 64L << 20;

    /// <summary>The largest stored tokenizer read (a word-level vocabulary of a million words is about 20 MB).</summary>
    private const long MaxTokenizerBytes = 256L << 20;

    /// <summary>What the file may hold besides the model's tensors and Adam's three moments per parameter: the pickle, the small records, the step counts.</summary>
    private const long SlackBytes = 96L << 20;

    /// <summary>
    /// Verifies the whole file without holding it: the zip's layout, the manifest and its hash, that the manifest lists
    /// exactly the records there are, that their declared sizes fit the manifest's model, and every record's CRC-32
    /// and SHA-256, streamed. Returns the manifest and NewLlm's small records.
    /// </summary>
    public static (CheckpointManifest Manifest, byte[] ManifestBytes, Dictionary<string, byte[]> Entries) Verify(string path, FileStream file)
    {
        Span<byte> head = stackalloc byte[4];
        int read = file.ReadAtLeast(head, 4, throwOnEndOfStream: false);
        if (read < 4 || head[0] != (byte)'P' || head[1] != (byte)'K')
        {
            throw new InvalidDataException(read > 1 && head[0] == 0x80
                ? $"{path}: not a checkpoint NewLlm reads: it looks like PyTorch's legacy (pre-1.6, non-zip) format. Load it in PyTorch and save it again with torch.save(obj, path), whose default has been the zip format since PyTorch 1.6."
                : $"{path}: not a checkpoint: NewLlm's and PyTorch's checkpoints are zip archives, and this file is not one ({(read == 0 ? "it is empty" : "it does not start like a zip archive")}). Give a .pt file written by NewLlm or by torch.save.");
        }

        file.Position = 0;
        try
        {
            using var zip = new ZipArchive(file, ZipArchiveMode.Read, leaveOpen: true);
            ZipArchiveEntry? manifestEntry = zip.Entries.FirstOrDefault(e => e.FullName.EndsWith("/" + TrainingCheckpoint.NewLlmFolder + TrainingCheckpoint.ManifestEntry, StringComparison.Ordinal));
            if (manifestEntry is null)
            {
                throw new InvalidDataException(zip.Entries.Any(e => e.FullName.EndsWith("/" + TrainingCheckpoint.DataPickle, StringComparison.Ordinal))
                    ? $"{path}: not a NewLlm checkpoint: it is a PyTorch file without NewLlm's '{TrainingCheckpoint.NewLlmFolder}{TrainingCheckpoint.ManifestEntry}' (the original trainer's checkpoint, for one). Trainer.LoadCheckpoint resumes from the original's checkpoint; NewLlmModel.FromPyTorch opens its weights."
                    : $"{path}: not a NewLlm checkpoint: the entry '{TrainingCheckpoint.NewLlmFolder}{TrainingCheckpoint.ManifestEntry}' is missing.");
            }

            string top = manifestEntry.FullName[..^(TrainingCheckpoint.NewLlmFolder + TrainingCheckpoint.ManifestEntry).Length];
            var records = new Dictionary<string, ZipArchiveEntry>(StringComparer.Ordinal);
            foreach (ZipArchiveEntry entry in zip.Entries)
            {
                if (!entry.FullName.StartsWith(top, StringComparison.Ordinal))
                {
                    throw new InvalidDataException($"{path}: the checkpoint is corrupted: entry '{entry.FullName}' lies outside the archive's folder '{top}'.");
                }

                if (!records.TryAdd(entry.FullName[top.Length..], entry))
                {
                    throw new InvalidDataException($"{path}: the checkpoint is corrupted: entry '{entry.FullName}' is there twice.");
                }
            }

            byte[] manifestBytes = ReadWhole(path, manifestEntry, MaxManifestBytes);
            records.Remove(TrainingCheckpoint.NewLlmFolder + TrainingCheckpoint.ManifestEntry);
            if (!records.Remove(TrainingCheckpoint.NewLlmFolder + TrainingCheckpoint.ManifestHashEntry, out ZipArchiveEntry? hashEntry))
            {
                throw new InvalidDataException($"{path}: the checkpoint is incomplete: entry '{TrainingCheckpoint.ManifestHashEntry}' (the SHA-256 of '{TrainingCheckpoint.ManifestEntry}') is missing. Use another checkpoint of the run or train again.");
            }

            if (System.Text.Encoding.ASCII.GetString(ReadWhole(path, hashEntry, 128)) != TrainingCheckpoint.Sha256(manifestBytes))
            {
                throw new InvalidDataException(
                    $"{path}: the checkpoint is corrupted: '{TrainingCheckpoint.ManifestEntry}' does not match its SHA-256 in '{TrainingCheckpoint.ManifestHashEntry}' (it was changed after it was written, perhaps edited by hand). Use another checkpoint of the run (best_, _epoch_ or _final file) or train again; a manifest cannot be edited.");
            }

            CheckpointManifest manifest = ParseManifest(path, manifestBytes);
            try
            {
                manifest.ModelOptions.Validate();
            }
            catch (Microsoft.Extensions.Options.OptionsValidationException ex)
            {
                throw new InvalidDataException($"{path}: the checkpoint's model options are invalid: {ex.Message}", ex);
            }

            CheckState(path, manifest.State);
            CheckListedAndSized(path, manifest, records);
            var entries = new Dictionary<string, byte[]>(StringComparer.Ordinal);
            foreach ((string name, ZipArchiveEntry entry) in records)
            {
                // NewLlm's small records are kept (their sizes were checked above), PyTorch's only hashed.
                using MemoryStream? kept = name.StartsWith(TrainingCheckpoint.NewLlmFolder, StringComparison.Ordinal) ? new MemoryStream((int)entry.Length) : null;
                string hash = StreamHash(path, entry, kept);
                if (kept is not null)
                {
                    entries[name[TrainingCheckpoint.NewLlmFolder.Length..]] = kept.ToArray();
                }

                if (manifest.EntryHashes[name] != hash)
                {
                    throw new InvalidDataException($"{path}: the checkpoint is corrupted: entry '{name}' does not match its SHA-256 in the manifest.");
                }
            }

            foreach (string required in new[] { TrainingCheckpoint.DataPickle, TrainingCheckpoint.RngEntry })
            {
                if (!records.ContainsKey(required) && !entries.ContainsKey(required))
                {
                    throw new InvalidDataException($"{path}: the checkpoint is incomplete: entry '{(required == TrainingCheckpoint.RngEntry ? TrainingCheckpoint.NewLlmFolder + TrainingCheckpoint.RngEntry : required)}' is missing.");
                }
            }

            return (manifest, manifestBytes, entries);
        }
        catch (InvalidDataException ex) when (ex.Message.StartsWith(path, StringComparison.Ordinal))
        {
            throw;
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException or NotSupportedException)
        {
            throw new InvalidDataException($"{path}: not a readable NewLlm checkpoint (truncated or corrupted?): {ex.Message}", ex);
        }
    }

    /// <summary>Refuses a trainer state no run can have (a manifest whose hash was recomputed after an edit).</summary>
    private static void CheckState(string path, TrainerState state)
    {
        string? wrong = state.BatchesIntoEpoch < 0 ? $"batches_into_epoch {state.BatchesIntoEpoch}"
            : state.GlobalStep < 0 ? $"global_step {state.GlobalStep}"
            : state.History.Select((r, i) => r.Epoch == i + 1 ? null : $"history record {i + 1} is of epoch {r.Epoch}").FirstOrDefault(w => w is not null)
            ?? (state.BestEpoch < 0 || state.BestEpoch > state.CompletedEpochs ? $"best_epoch {state.BestEpoch} of {state.CompletedEpochs} completed" : null);
        if (wrong is not null)
        {
            throw new InvalidDataException($"{path}: the checkpoint's trainer state is impossible ({wrong}): the manifest was edited. Use another checkpoint of the run or train again.");
        }
    }

    /// <summary>
    /// Refuses, before any record is read, a record the manifest does not list (or one it lists that is missing), and
    /// declared sizes beyond what the manifest's model needs: the tensors together at most four times its parameters
    /// (weights and Adam's moments) plus <see cref="SlackBytes"/>, and no tensor record larger than its largest parameter.
    /// </summary>
    private static void CheckListedAndSized(string path, CheckpointManifest manifest, Dictionary<string, ZipArchiveEntry> records)
    {
        foreach (string name in records.Keys)
        {
            if (!manifest.EntryHashes.ContainsKey(name))
            {
                throw new InvalidDataException($"{path}: the checkpoint is corrupted: entry '{name}' ({records[name].Length} bytes) is not listed in its manifest, so it was not written with it. Use another checkpoint of the run or train again.");
            }
        }

        foreach (string name in manifest.EntryHashes.Keys)
        {
            if (!records.ContainsKey(name))
            {
                throw new InvalidDataException($"{path}: the checkpoint is incomplete: entry '{name}' is missing.");
            }
        }

        NewLlmOptions model = manifest.ModelOptions;
        long parameterBytes = checked(model.ParameterCount * sizeof(float));
        // The largest parameter: the embedding or output layer [V, E] / [V, H], the first layer [H, E + C], a further layer [H, H]
        // (the heads [C, H] are never larger than the first layer), counted in 8-byte elements to leave room.
        long v = model.VocabSize, e = model.EmbedDim, h = model.HiddenDim, c = model.ContextDim;
        long largest = checked(new[] { v * e, v * h, h * (e + c), model.NumLayers > 1 ? h * h : 0 }.Max() * sizeof(double));
        long budget = checked((4 * parameterBytes) + SlackBytes);
        long total = 0;
        foreach ((string name, ZipArchiveEntry entry) in records)
        {
            long limit = name.StartsWith("data/", StringComparison.Ordinal) ? largest
                : name == TrainingCheckpoint.DataPickle ? MaxPickleBytes
                : name.StartsWith(TrainingCheckpoint.NewLlmFolder, StringComparison.Ordinal) ? MaxTokenizerBytes
                : 64;
            if (entry.Length > limit)
            {
                throw new InvalidDataException($"{path}: the checkpoint is corrupted: entry '{name}' declares {entry.Length} bytes, more than the {limit} it can hold for a model with {TrainingCheckpoint.Shape(model)}. Use another checkpoint of the run or train again.");
            }

            total = checked(total + entry.Length);
        }

        if (total > budget)
        {
            throw new InvalidDataException($"{path}: the checkpoint is corrupted: its records declare {total} bytes, more than the {budget} a model with {TrainingCheckpoint.Shape(model)} and its optimizer state need. Use another checkpoint of the run or train again.");
        }
    }

    /// <summary>A small record's bytes (its declared size at most <paramref name="limit"/>), checked as <see cref="StreamHash"/> checks them.</summary>
    private static byte[] ReadWhole(string path, ZipArchiveEntry entry, long limit)
    {
        if (entry.Length > limit)
        {
            throw new InvalidDataException($"{path}: the checkpoint is corrupted: entry '{entry.FullName}' declares {entry.Length} bytes, more than the {limit} it may have.");
        }

        using var bytes = new MemoryStream((int)entry.Length);
        StreamHash(path, entry, bytes);
        return bytes.ToArray();
    }

    /// <summary>A record's SHA-256 (hex), streamed through a 1 MiB buffer (and into <paramref name="copy"/>), its length and CRC-32 checked on the way.</summary>
    private static string StreamHash(string path, ZipArchiveEntry entry, Stream? copy = null)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var crc = new System.IO.Hashing.Crc32();
        byte[] buffer = new byte[1 << 20];
        long total = 0;
        using (Stream stream = entry.Open())
        {
            int n;
            while ((n = stream.Read(buffer)) > 0)
            {
                total += n;
                if (total > entry.Length)
                {
                    throw new InvalidDataException($"{path}: the checkpoint is corrupted: entry '{entry.FullName}' holds more than its declared {entry.Length} bytes.");
                }

                sha.AppendData(buffer, 0, n);
                crc.Append(buffer.AsSpan(0, n));
                copy?.Write(buffer, 0, n);
            }
        }

        if (total != entry.Length)
        {
            throw new InvalidDataException($"{path}: the checkpoint is truncated: entry '{entry.FullName}' has {total} bytes, {entry.Length} expected.");
        }

        if (crc.GetCurrentHashAsUInt32() != entry.Crc32)
        {
            throw new InvalidDataException($"{path}: entry '{entry.FullName}' does not match its zip CRC-32: the file is corrupted. Use another checkpoint of the run or train again.");
        }

        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    private static CheckpointManifest ParseManifest(string path, byte[] bytes)
    {
        CheckpointManifest? manifest;
        try
        {
            JsonNode? node = JsonNode.Parse(bytes);
            if (node?["format"]?.GetValue<string>() != CheckpointManifest.FormatName)
            {
                throw new InvalidDataException($"{path}: not a NewLlm training checkpoint (format '{node?["format"]}').");
            }

            int version = node["version"]?.GetValue<int>() ?? 0;
            if (version != CheckpointManifest.CurrentVersion)
            {
                throw new InvalidDataException($"{path}: checkpoint version {version} is not supported (this library reads version {CheckpointManifest.CurrentVersion}, the first it released).");
            }

            manifest = node.Deserialize<CheckpointManifest>(TrainingCheckpoint.SerializerOptions);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"{path}: the checkpoint manifest is corrupted: {ex.Message}", ex);
        }

        return manifest ?? throw new InvalidDataException($"{path}: the checkpoint manifest is empty.");
    }
}
