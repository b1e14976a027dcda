using System.Collections;
using System.Collections.Specialized;
using System.IO.Compression;
using Razorvine.Pickle;
using Razorvine.Pickle.Objects;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace NewLlm;

/// <summary>
/// Reads and writes <see cref="PyTorchCheckpoint"/>s through TorchSharp.PyBridge: <see cref="PyTorchUnpickler"/> turns
/// <c>data.pkl</c> into nested <see cref="Hashtable"/>s (dicts), <see cref="ArrayList"/>s (lists), object arrays
/// (tuples), numbers, strings and tensors; <see cref="PyTorchPickler"/> writes such a tree back. PyBridge itself needs no
/// hook for the original's <c>__main__.HHRLHFTrainConfig</c>: its pickle library (Razorvine.Pickle) builds an instance of
/// any class it does not know as a <see cref="ClassDict"/>, its attributes plus <c>__class__</c>. What PyBridge does not
/// do, this class does: it checks the file before handing it over (its own errors are a
/// <see cref="NotImplementedException"/> for a non-zip file and an <see cref="InvalidOperationException"/> for a zip
/// without <c>data.pkl</c>, neither naming the file) and reads the optimizer dict into typed values.
/// </summary>
internal static class PyTorchCheckpointFormat
{
    private const string ModelStateKey = "model_state_dict";
    private const string OptimizerKey = "optimizer_state_dict";
    private const string EpochKey = "current_epoch";
    private const string ConfigKey = "config";

    /// <summary>The four per-epoch lists of the original, by key.</summary>
    private static readonly string[] ListKeys = ["train_losses", "val_losses", "train_ppls", "val_ppls"];

    /// <summary>Unpickles the file's <c>data.pkl</c> (tensors detached from any dispose scope; the caller owns them).</summary>
    public static Hashtable Unpickle(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        string fullPath = Path.GetFullPath(path);
        if (!File.Exists(fullPath))
        {
            throw new FileNotFoundException($"{fullPath}: the PyTorch checkpoint does not exist.", fullPath);
        }

        using var stream = new FileStream(fullPath, FileMode.Open, FileAccess.Read, FileShare.Read);
        Span<byte> head = stackalloc byte[4];
        int read = stream.ReadAtLeast(head, 4, throwOnEndOfStream: false);
        if (read < 4 || head[0] != 0x50 || head[1] != 0x4b || head[2] != 0x03 || head[3] != 0x04)
        {
            // A pickle starts with PROTO (0x80); PyTorch's legacy format is a pickle of its magic number.
            throw Bad(fullPath, read >= 1 && head[0] == 0x80
                ? "it is in PyTorch's legacy (non-zip) format, which is not supported. Load it in PyTorch and save it again with torch.save (PyTorch 1.6 or later, without _use_new_zipfile_serialization=False)."
                : "the file is not a zip archive, so it was not written by torch.save. Check that the path names a PyTorch checkpoint or state dict.");
        }

        stream.Position = 0;
        try
        {
            using (var archive = new ZipArchive(stream, ZipArchiveMode.Read, leaveOpen: true))
            {
                if (!archive.Entries.Any(e => e.Name.EndsWith("data.pkl", StringComparison.Ordinal)))
                {
                    throw Bad(fullPath, "the zip archive has no data.pkl, so it is not a PyTorch checkpoint.");
                }
            }

            stream.Position = 0;
            Hashtable root = PyTorchUnpickler.UnpickleStateDict(stream, leaveOpen: true);
            DetachTensors(root);
            return root;
        }
        catch (InvalidDataException ex) when (!ex.Message.StartsWith(fullPath, StringComparison.Ordinal))
        {
            throw Bad(fullPath, $"the zip archive is damaged or truncated ({ex.Message}). Copy or download the file again.", ex);
        }
        catch (NotImplementedException ex) when (ex.Message.Contains("entire model", StringComparison.Ordinal))
        {
            throw Bad(fullPath, "it holds a whole pickled module (torch.save(model)), not a state dict. In PyTorch, save model.state_dict() instead.", ex);
        }
        catch (NotImplementedException ex)
        {
            throw Bad(fullPath, $"it holds a tensor storage type that cannot be read ({ex.Message}). Convert the tensors to float32 in PyTorch and save again.", ex);
        }
        catch (Exception ex) when (ex is PickleException or InvalidCastException or InvalidOperationException or IndexOutOfRangeException or EndOfStreamException or IOException)
        {
            throw Bad(fullPath, $"its data.pkl cannot be unpickled ({ex.Message}). The file is damaged or was not written by torch.save.", ex);
        }
    }

    /// <summary>Reads the whole checkpoint dict (or a flat state dict).</summary>
    public static PyTorchCheckpoint Read(string path)
    {
        Hashtable root = Unpickle(path);
        string fullPath = Path.GetFullPath(path);
        var checkpoint = new PyTorchCheckpoint();
        try
        {
            foreach (Tensor tensor in TensorsIn(root))
            {
                checkpoint.Own(tensor);
            }

            checkpoint.ModelState = ModelState(root, fullPath, out bool flat);
            checkpoint.IsStateDictOnly = flat;
            if (flat)
            {
                return checkpoint;
            }

            if (root[OptimizerKey] is { } optimizer)
            {
                checkpoint.Optimizer = ReadAdam(optimizer, fullPath);
            }

            checkpoint.TrainLosses = ReadList(root, ListKeys[0], fullPath);
            checkpoint.ValLosses = ReadList(root, ListKeys[1], fullPath);
            checkpoint.TrainPpls = ReadList(root, ListKeys[2], fullPath);
            checkpoint.ValPpls = ReadList(root, ListKeys[3], fullPath);
            if (root[EpochKey] is { } epoch)
            {
                checkpoint.CurrentEpoch = epoch is int or long ? checked((int)Convert.ToInt64(epoch, null)) : throw Bad(fullPath, $"'{EpochKey}' is {Describe(epoch)}, not an integer.");
            }

            switch (root[ConfigKey])
            {
                case null:
                    break;
                case ClassDict instance:
                    checkpoint.ConfigClassName = instance.ClassName;
                    checkpoint.Config = instance.Where(kv => kv.Key != "__class__").ToDictionary(kv => kv.Key, kv => Plain(kv.Value));
                    break;
                case IDictionary dict:
                    checkpoint.Config = StringKeyed(dict);
                    break;
                default:
                    throw Bad(fullPath, $"'{ConfigKey}' is {Describe(root[ConfigKey])}, neither an object nor a dict.");
            }

            return checkpoint;
        }
        catch
        {
            checkpoint.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The model state dict of an unpickled file: <c>model_state_dict</c> of a checkpoint dict, or the root itself when
    /// it is a flat state dict (every value a tensor). The tensors stay in the tree (the caller owns them).
    /// </summary>
    public static Dictionary<string, Tensor> ModelState(Hashtable root, string path, out bool flat)
    {
        flat = !root.ContainsKey(ModelStateKey);
        object source = flat ? root : root[ModelStateKey]!;
        if (flat && (root.Count == 0 || root.Values.Cast<object?>().Any(v => v is not Tensor)))
        {
            string keys = string.Join(", ", root.Keys.Cast<object>().Select(k => $"'{k}'").Order().Take(12));
            throw Bad(path, $"it has no '{ModelStateKey}' and is not a state dict either (its top-level keys: {(keys.Length == 0 ? "none" : keys)}). Pass the original trainer's checkpoint or a torch.save(model.state_dict()) file.");
        }

        if (source is not IDictionary dict)
        {
            throw Bad(path, $"'{ModelStateKey}' is {Describe(source)}, not a dict of tensors.");
        }

        var state = new Dictionary<string, Tensor>();
        foreach (DictionaryEntry entry in dict)
        {
            state[entry.Key.ToString()!] = entry.Value as Tensor
                ?? throw Bad(path, $"'{ModelStateKey}' entry '{entry.Key}' is {Describe(entry.Value)}, not a tensor.");
        }

        return state;
    }

    /// <summary>Every tensor anywhere in an unpickled tree.</summary>
    public static IEnumerable<Tensor> TensorsIn(object? node)
    {
        switch (node)
        {
            case Tensor tensor:
                yield return tensor;
                break;
            case ClassDict bag:
                foreach (Tensor t in bag.Values.SelectMany(TensorsIn))
                {
                    yield return t;
                }

                break;
            case IDictionary dict:
                foreach (object? value in dict.Values)
                {
                    foreach (Tensor t in TensorsIn(value))
                    {
                        yield return t;
                    }
                }

                break;
            case string:
                break;
            case IEnumerable items:
                foreach (object? item in items)
                {
                    foreach (Tensor t in TensorsIn(item))
                    {
                        yield return t;
                    }
                }

                break;
        }
    }

    /// <summary>Writes the checkpoint through <see cref="AtomicFile"/>.</summary>
    public static void Write(PyTorchCheckpoint checkpoint, string path)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var copies = new List<Tensor>();
        try
        {
            var root = new OrderedDictionary
            {
                [ModelStateKey] = StateForPickle(checkpoint.ModelState, copies),
            };
            if (checkpoint.Optimizer is { } adam)
            {
                root[OptimizerKey] = AdamForPickle(adam, copies);
            }

            root[ListKeys[0]] = new ArrayList(checkpoint.TrainLosses.ToArray());
            root[ListKeys[1]] = new ArrayList(checkpoint.ValLosses.ToArray());
            root[ListKeys[2]] = new ArrayList(checkpoint.TrainPpls.ToArray());
            root[ListKeys[3]] = new ArrayList(checkpoint.ValPpls.ToArray());
            if (checkpoint.CurrentEpoch is int epoch)
            {
                root[EpochKey] = epoch;
            }

            root[ConfigKey] = ConfigForPickle(checkpoint.Config, ConfigKey);
            WriteRoot(root, path);
        }
        finally
        {
            foreach (Tensor copy in copies)
            {
                copy.Dispose();
            }
        }
    }

    /// <summary>Writes a flat state dict (parameter name to tensor) as <c>torch.save(model.state_dict())</c> would.</summary>
    public static void WriteStateDict(IEnumerable<KeyValuePair<string, Tensor>> state, string path)
    {
        var copies = new List<Tensor>();
        try
        {
            WriteRoot(StateForPickle(state, copies), path);
        }
        finally
        {
            foreach (Tensor copy in copies)
            {
                copy.Dispose();
            }
        }
    }

    private static void WriteRoot(IDictionary root, string path) =>
        AtomicFile.Write(path, stream => PyTorchPickler.PickleStateDict(stream, root, leaveOpen: true), flushToDisk: true);

    /// <summary>
    /// Name to a contiguous CPU copy with no gradient and storage offset 0 (PyBridge writes a tensor's bytes as
    /// they lie and records its offset and strides, so a view must not reach it).
    /// </summary>
    private static OrderedDictionary StateForPickle(IEnumerable<KeyValuePair<string, Tensor>> state, List<Tensor> copies)
    {
        ArgumentNullException.ThrowIfNull(state);
        var dict = new OrderedDictionary();
        foreach ((string name, Tensor tensor) in state)
        {
            dict[name] = Copy(tensor, copies);
        }

        return dict;
    }

    private static Tensor Copy(Tensor tensor, List<Tensor> copies)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        using var noGrad = no_grad();
        Tensor copy = tensor.detach().cpu().contiguous().clone().DetachFromDisposeScope();
        copies.Add(copy);
        return copy;
    }

    /// <summary>PyTorch's Adam state dict layout: <c>{"state": {i: {step, exp_avg, exp_avg_sq}}, "param_groups": [...]}</c>.</summary>
    private static OrderedDictionary AdamForPickle(PyTorchAdamState adam, List<Tensor> copies)
    {
        var state = new OrderedDictionary();
        foreach ((int index, PyTorchAdamParameterState s) in adam.State.OrderBy(kv => kv.Key))
        {
            Tensor step = tensor((float)s.Step, dtype: ScalarType.Float32).DetachFromDisposeScope();
            copies.Add(step);
            var entry = new OrderedDictionary { ["step"] = step, ["exp_avg"] = Copy(s.ExpAvg, copies), ["exp_avg_sq"] = Copy(s.ExpAvgSq, copies) };
            if (s.MaxExpAvgSq is { } max)
            {
                entry["max_exp_avg_sq"] = Copy(max, copies);
            }

            state.Add(index, entry);  // Add: OrderedDictionary's int indexer is positional
        }

        var groups = new ArrayList();
        foreach (PyTorchAdamParamGroup g in adam.ParamGroups)
        {
            // Every key PyTorch's Adam keeps in a group (torch 1.13 to 2.x), so that load_state_dict leaves none unset.
            groups.Add(new OrderedDictionary
            {
                ["lr"] = g.LearningRate,
                ["betas"] = new object[] { g.Beta1, g.Beta2 },
                ["eps"] = g.Eps,
                ["weight_decay"] = g.WeightDecay,
                ["amsgrad"] = g.Amsgrad,
                ["maximize"] = false,
                ["foreach"] = null,
                ["capturable"] = false,
                ["differentiable"] = false,
                ["fused"] = null,
                ["params"] = new ArrayList(g.ParameterIndices.ToArray()),
            });
        }

        // PyTorch's order (a Hashtable's would change from one process to the next, and so would the file's bytes).
        return new OrderedDictionary { ["state"] = state, ["param_groups"] = groups };
    }

    /// <summary>A config value as a weights-only load accepts it: null, bool, int, long, double, string, lists and string-keyed dicts of those.</summary>
    private static object? ConfigForPickle(object? value, string where) => value switch
    {
        null or bool or int or string => value,
        long l when l is >= int.MinValue and <= int.MaxValue => (int)l,
        float or double => Convert.ToDouble(value, null),
        IDictionary dict => ConfigDict(dict, where),
        IEnumerable items => new ArrayList(items.Cast<object?>().Select((v, i) => ConfigForPickle(v, $"{where}[{i}]")).ToArray()),
        _ => throw new ArgumentException($"PyTorchCheckpoint.Config: '{where}' is {Describe(value)}; only null, bool, 32-bit integers, floating-point numbers, strings, lists and string-keyed dicts of those can be written (torch.load with weights_only=True reads nothing else).", nameof(value)),
    };

    private static OrderedDictionary ConfigDict(IDictionary dict, string where)
    {
        var result = new OrderedDictionary();
        foreach (DictionaryEntry entry in dict)
        {
            string key = entry.Key as string ?? throw new ArgumentException($"PyTorchCheckpoint.Config: '{where}' has a key {Describe(entry.Key)}; keys must be strings.", nameof(dict));
            result[key] = ConfigForPickle(entry.Value, where == ConfigKey ? key : $"{where}.{key}");
        }

        return result;
    }

    private static PyTorchAdamState ReadAdam(object optimizer, string path)
    {
        if (optimizer is not IDictionary dict || dict["state"] is not IDictionary state || dict["param_groups"] is not IList groups)
        {
            throw Bad(path, $"'{OptimizerKey}' is not a PyTorch optimizer state dict (it needs 'state' and 'param_groups').");
        }

        var adam = new PyTorchAdamState();
        foreach (DictionaryEntry entry in state)
        {
            int index = entry.Key is int or long ? checked((int)Convert.ToInt64(entry.Key, null)) : throw Bad(path, $"'{OptimizerKey}' has a state key {Describe(entry.Key)}, not a parameter index.");
            string where = $"'{OptimizerKey}' state of parameter {index}";
            if (entry.Value is not IDictionary s)
            {
                throw Bad(path, $"{where} is {Describe(entry.Value)}, not a dict.");
            }

            if (s["exp_avg"] is not Tensor expAvg || s["exp_avg_sq"] is not Tensor expAvgSq)
            {
                string keys = string.Join(", ", s.Keys.Cast<object>().Select(k => $"'{k}'").Order());
                throw Bad(path, $"{where} has no 'exp_avg' and 'exp_avg_sq' tensors (its keys: {keys}), so it is not Adam's. Only Adam's state can be read.");
            }

            adam.State[index] = new PyTorchAdamParameterState
            {
                Step = Number(s["step"], $"{where}: 'step'", path),
                ExpAvg = expAvg,
                ExpAvgSq = expAvgSq,
                MaxExpAvgSq = s["max_exp_avg_sq"] as Tensor,
            };
        }

        for (int i = 0; i < groups.Count; i++)
        {
            string where = $"'{OptimizerKey}' param group {i}";
            if (groups[i] is not IDictionary g)
            {
                throw Bad(path, $"{where} is {Describe(groups[i])}, not a dict.");
            }

            if (g["betas"] is not IList { Count: 2 } betas)
            {
                throw Bad(path, $"{where} has 'betas' {Describe(g["betas"])}, not a pair; only Adam's state can be read.");
            }

            adam.ParamGroups.Add(new PyTorchAdamParamGroup
            {
                LearningRate = Number(g["lr"], $"{where}: 'lr'", path),
                Beta1 = Number(betas[0], $"{where}: 'betas'", path),
                Beta2 = Number(betas[1], $"{where}: 'betas'", path),
                Eps = Number(g["eps"], $"{where}: 'eps'", path),
                WeightDecay = Number(g["weight_decay"], $"{where}: 'weight_decay'", path),
                Amsgrad = g["amsgrad"] is true,
                ParameterIndices = (g["params"] as IList ?? throw Bad(path, $"{where} has no 'params' list."))
                    .Cast<object>().Select(p => p is int or long ? checked((int)Convert.ToInt64(p, null)) : throw Bad(path, $"{where} has a parameter {Describe(p)}, not an index.")).ToList(),
            });
        }

        return adam;
    }

    private static List<double> ReadList(Hashtable root, string key, string path)
    {
        return root[key] switch
        {
            null => [],
            IList list => list.Cast<object?>().Select((v, i) => Number(v, $"'{key}'[{i}]", path)).ToList(),
            object other => throw Bad(path, $"'{key}' is {Describe(other)}, not a list of numbers."),
        };
    }

    /// <summary>A Python number or 0-d tensor as a double.</summary>
    private static double Number(object? value, string what, string path)
    {
        switch (value)
        {
            case double or float or int or long or bool:
                return Convert.ToDouble(value, null);
            case Tensor { NumberOfElements: 1 } t:
                using (Tensor d = t.to_type(ScalarType.Float64))
                {
                    return d.item<double>();
                }

            default:
                throw Bad(path, $"{what} is {Describe(value)}, not a number.");
        }
    }

    /// <summary>Unpickled values as plain .NET values: dicts become string-keyed dictionaries, lists and tuples lists.</summary>
    private static object? Plain(object? value) => value switch
    {
        ClassDict bag => bag.ToDictionary(kv => kv.Key, kv => Plain(kv.Value)),
        IDictionary dict => StringKeyed(dict),
        string or Tensor => value,
        IEnumerable items => items.Cast<object?>().Select(Plain).ToList(),
        _ => value,
    };

    private static Dictionary<string, object?> StringKeyed(IDictionary dict)
    {
        var result = new Dictionary<string, object?>();
        foreach (DictionaryEntry entry in dict)
        {
            result[entry.Key.ToString()!] = Plain(entry.Value);
        }

        return result;
    }

    private static void DetachTensors(object root)
    {
        foreach (Tensor tensor in TensorsIn(root))
        {
            tensor.DetachFromDisposeScope();
        }
    }

    /// <summary>A value's Python-ish description for messages.</summary>
    private static string Describe(object? value) => value switch
    {
        null => "None",
        Tensor t => $"a {t.dtype} tensor of shape [{string.Join(", ", t.shape)}]",
        ClassDict bag => $"an instance of {bag.ClassName}",
        string s => $"the string '{s}'",
        IDictionary => "a dict",
        IList => "a list",
        _ => $"{value} ({value.GetType().Name})",
    };

    private static InvalidDataException Bad(string path, string what, Exception? inner = null) =>
        new($"{path}: cannot read it as a PyTorch checkpoint: {what}", inner);
}
