using System.Globalization;

namespace NewLlm;

/// <summary>Helpers over the values <see cref="PickleReader"/> builds: descriptions for messages, the nesting check, plain .NET values.</summary>
internal static class PickleValues
{
    /// <summary>How deep dicts, lists, tuples and objects may nest; torch.save's checkpoints nest 5 deep.</summary>
    public const int MaxDepth = 100;

    /// <summary>A value's Python-ish description for messages.</summary>
    public static string Describe(object? value) => value switch
    {
        null => "None",
        bool b => b ? "True" : "False",
        string s => $"the string '{(s.Length > 80 ? s[..80] + "..." : s)}'",
        long or double => $"the number {Convert.ToString(value, CultureInfo.InvariantCulture)}",
        TensorRecord t => $"a {t.Storage.DType} tensor of shape {t.ShapeText}",
        StorageRecord => "a storage",
        PickleDict => "a dict",
        List<object?> => "a list",
        object?[] => "a tuple",
        byte[] => "bytes",
        PickleGlobal g => $"the global {g.FullName}",
        PickledObject o => $"an instance of {o.Type.FullName}",
        _ => value.GetType().Name,
    };

    /// <summary>
    /// Refuses a tree that nests deeper than <see cref="MaxDepth"/> or contains itself (a pickle can build both in a
    /// few bytes), so that code walking it cannot overflow the stack or loop; returns the tensor records in it. Objects
    /// shared by several parents are measured once (their height is remembered), so the walk is linear in the pickle's size.
    /// </summary>
    public static List<TensorRecord> CheckNesting(object? root)
    {
        if (!IsContainer(root))
        {
            return root is TensorRecord tensor ? [tensor] : [];
        }

        var tensors = new List<TensorRecord>();
        var height = new Dictionary<object, int>(ReferenceEqualityComparer.Instance);
        var onPath = new HashSet<object>(ReferenceEqualityComparer.Instance) { root! };
        var work = new Stack<(object Node, IEnumerator<object?> Children)>();
        work.Push((root!, Children(root!).GetEnumerator()));
        while (work.Count > 0)
        {
            (object node, IEnumerator<object?> children) = work.Peek();
            if (children.MoveNext())
            {
                object? child = children.Current;
                if (child is TensorRecord tensor)
                {
                    tensors.Add(tensor);
                }

                if (!IsContainer(child) || height.ContainsKey(child!))
                {
                    continue;
                }

                if (!onPath.Add(child!))
                {
                    throw new InvalidDataException("data.pkl holds a dict, list or object that contains itself.");
                }

                work.Push((child!, Children(child!).GetEnumerator()));
                continue;
            }

            work.Pop();
            onPath.Remove(node);
            int own = 1 + Children(node).Where(IsContainer).Select(c => height[c!]).DefaultIfEmpty(0).Max();
            if (own > MaxDepth)
            {
                throw new InvalidDataException($"data.pkl nests dicts, lists or objects more than {MaxDepth} deep.");
            }

            height[node] = own;
        }

        return tensors;
    }

    /// <summary>
    /// A value as plain .NET values: dicts become string-keyed <see cref="Dictionary{TKey, TValue}"/>s, lists and tuples
    /// <see cref="List{T}"/>s, an object its attributes; integers stay <see cref="long"/> unless they fit an <see cref="int"/>.
    /// </summary>
    /// <exception cref="InvalidDataException">It holds a tensor, bytes, or a global.</exception>
    public static object? Plain(object? value, string where) => value switch
    {
        null or bool or double or string => value,
        long l => l is >= int.MinValue and <= int.MaxValue ? (object)(int)l : l,
        PickleDict dict => dict.ToDictionary(kv => Convert.ToString(kv.Key, CultureInfo.InvariantCulture)!, kv => Plain(kv.Value, $"{where}.{kv.Key}")),
        List<object?> list => list.Select((v, i) => Plain(v, $"{where}[{i}]")).ToList(),
        object?[] tuple => tuple.Select((v, i) => Plain(v, $"{where}[{i}]")).ToList(),
        PickledObject { State: PickleDict attributes } => Plain(attributes, where),
        _ => throw new InvalidDataException($"'{where}' is {Describe(value)}; only numbers, strings, lists and dicts are read there."),
    };

    private static bool IsContainer(object? value) => value is PickleDict or List<object?> or object?[] or PickledObject;

    private static IEnumerable<object?> Children(object node) => node switch
    {
        PickleDict dict => dict.SelectMany(kv => new[] { kv.Key, kv.Value }),
        List<object?> list => list,
        object?[] tuple => tuple,
        PickledObject o => o.Arguments.Append(o.State),
        _ => [],
    };
}
