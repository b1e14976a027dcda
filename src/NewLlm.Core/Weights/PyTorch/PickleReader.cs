using System.Buffers.Binary;
using System.Numerics;
using System.Text;

namespace NewLlm;

/// <summary>
/// A restricted reader of the pickles <c>torch.save</c> writes (<c>data.pkl</c>, protocols 2 to 5): it builds dicts,
/// lists, tuples, numbers, strings, bytes, storage references and lazy <see cref="TensorRecord"/>s, and nothing else.
/// A global it does not know (the original's <c>__main__.HHRLHFTrainConfig</c>, or anything else) stays an inert
/// <see cref="PickledObject"/> of its name, arguments and state: reading never runs code and never allocates a tensor.
/// </summary>
/// <remarks>
/// Written here rather than taken from Razorvine.Pickle (which TorchSharp.PyBridge uses) because that library keeps its
/// class constructors in one process-wide table, shared with PyBridge and with whatever else a user's program loads,
/// and builds every registered class it meets; PyTorch itself reads untrusted files through a restricted unpickler
/// (<c>torch/_weights_only_unpickler.py</c>) in the same way. Memory is bounded by the pickle's own size: every opcode
/// creates at most one object from bytes it reads, and a declared length is checked against the bytes that are left.
/// </remarks>
/// <param name="data">The pickle.</param>
/// <param name="persistentLoad">Turns each persistent id into its object.</param>
internal sealed class PickleReader(byte[] data, Func<object?, object> persistentLoad)
{
    /// <summary>
    /// The most values, marks and memo entries a pickle may make (torch.save makes about thirty per tensor, so this is
    /// tens of thousands of tensors). Each costs far more memory than the byte or two of pickle that makes it, so the
    /// pickle's size alone does not bound the memory: a few megabytes of <c>]</c> would make millions of lists.
    /// </summary>
    public const int MaxValues = 1_000_000;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
    private readonly List<object?> _stack = [];
    private readonly List<int> _marks = [];
    private readonly Dictionary<long, object?> _memo = [];
    private int _position;
    private int _made;

    /// <summary>Reads one pickle; <paramref name="persistentLoad"/> turns each persistent id into its object.</summary>
    /// <exception cref="InvalidDataException">The pickle is malformed or uses an opcode torch.save never writes; the message says where.</exception>
    public static object? Read(byte[] data, Func<object?, object> persistentLoad)
    {
        var reader = new PickleReader(data, persistentLoad);
        try
        {
            return reader.Run();
        }
        catch (Exception ex) when (ex is InvalidCastException or OverflowException or DecoderFallbackException or ArgumentException)
        {
            throw new InvalidDataException($"data.pkl is malformed at byte {reader._position}: {ex.Message}", ex);
        }
    }

    private object? Run()
    {
        while (true)
        {
            int at = _position;
            byte op = Byte();
            switch (op)
            {
                case 0x80: // PROTO
                    byte protocol = Byte();
                    if (protocol > 5)
                    {
                        throw Bad(at, $"pickle protocol {protocol} is newer than 5");
                    }

                    break;
                case 0x95: // FRAME: an 8-byte length; frames only group the opcodes that follow
                    Bytes(8);
                    break;
                case (byte)'.': // STOP
                    if (_stack.Count != 1 || _marks.Count != 0)
                    {
                        throw Bad(at, $"the pickle ends with {_stack.Count} values on its stack and {_marks.Count} open marks, not one value");
                    }

                    return _stack[0];
                case (byte)'(': // MARK
                    Made();
                    _marks.Add(_stack.Count);
                    break;
                case (byte)'0': // POP
                    Pop(at);
                    break;
                case (byte)'1': // POP_MARK
                    PopMark(at);
                    break;
                case (byte)'a': // APPEND
                    object? item = Pop(at);
                    ListAt(at).Add(item);
                    break;
                case (byte)'e': // APPENDS
                    List<object?> items = PopMark(at);
                    ListAt(at).AddRange(items);
                    break;
                case (byte)'s': // SETITEM
                    object? value = Pop(at);
                    object? key = Pop(at);
                    DictAt(at).Set(key, value, at);
                    break;
                case (byte)'u': // SETITEMS
                    List<object?> pairs = PopMark(at);
                    SetItems(DictAt(at), pairs, at);
                    break;
                case (byte)'q' or (byte)'r': // BINPUT, LONG_BINPUT
                    Made();
                    _memo[op == 'q' ? Byte() : BinaryPrimitives.ReadUInt32LittleEndian(Bytes(4))] = Peek(at);
                    break;
                case 0x94: // MEMOIZE
                    Made();
                    _memo[_memo.Count] = Peek(at);
                    break;
                case (byte)'b': // BUILD
                    object? state = Pop(at);
                    switch (Peek(at))
                    {
                        case PickledObject instance:
                            instance.State = state;
                            break;
                        case PickleDict:
                            break; // an OrderedDict's instance attributes (a state dict's _metadata): not part of its items
                        default:
                            throw Bad(at, $"BUILD on {PickleValues.Describe(Peek(at))}");
                    }

                    break;
                default:
                    Push(Value(op, at));
                    break;
            }
        }
    }

    /// <summary>The value an opcode that pushes one makes from its bytes or from the stack.</summary>
    private object? Value(byte op, int at) => op switch
    {
        (byte)'2' => Peek(at), // DUP
        (byte)'N' => null, // NONE
        0x88 => true, // NEWTRUE
        0x89 => false, // NEWFALSE
        (byte)'K' => (long)Byte(), // BININT1
        (byte)'M' => (long)BinaryPrimitives.ReadUInt16LittleEndian(Bytes(2)), // BININT2
        (byte)'J' => (long)BinaryPrimitives.ReadInt32LittleEndian(Bytes(4)), // BININT
        0x8a or 0x8b => Long(op == 0x8a ? Byte() : Length(BinaryPrimitives.ReadInt32LittleEndian(Bytes(4)), at), at), // LONG1, LONG4
        (byte)'G' => BinaryPrimitives.ReadDoubleBigEndian(Bytes(8)), // BINFLOAT, big-endian
        (byte)'X' or 0x8c or 0x8d => StrictUtf8.GetString(Bytes(DataLength(op, at))), // BINUNICODE, SHORT_BINUNICODE, BINUNICODE8
        (byte)'T' or (byte)'U' => Encoding.Latin1.GetString(Bytes(DataLength(op, at))), // BINSTRING, SHORT_BINSTRING (Python 2's str)
        (byte)'B' or (byte)'C' or 0x8e => Bytes(DataLength(op, at)).ToArray(), // BINBYTES, SHORT_BINBYTES, BINBYTES8
        (byte)'}' => new PickleDict(), // EMPTY_DICT
        (byte)'d' => SetItems(new PickleDict(), PopMark(at), at), // DICT
        (byte)']' => new List<object?>(), // EMPTY_LIST
        (byte)'l' => PopMark(at), // LIST
        (byte)')' => Array.Empty<object?>(), // EMPTY_TUPLE
        (byte)'t' => PopMark(at).ToArray(), // TUPLE
        0x85 or 0x86 or 0x87 => Tuple(op - 0x84, at), // TUPLE1, TUPLE2, TUPLE3
        (byte)'h' or (byte)'j' => Memo(op == 'h' ? Byte() : BinaryPrimitives.ReadUInt32LittleEndian(Bytes(4)), at), // BINGET, LONG_BINGET
        (byte)'c' => new PickleGlobal(Line(at), Line(at)), // GLOBAL: module, then name
        0x93 => StackGlobal(at), // STACK_GLOBAL
        (byte)'R' => Call(at, "REDUCE needs a tuple of arguments", "REDUCE needs a global to call"), // REDUCE
        0x81 => Call(at, "NEWOBJ needs a tuple of arguments", "NEWOBJ needs a class"), // NEWOBJ
        (byte)'Q' => persistentLoad(Pop(at)), // BINPERSID
        _ => throw Bad(at, $"opcode 0x{op:x2} is not one torch.save writes"),
    };

    /// <summary>
    /// REDUCE or NEWOBJ: what the global under the arguments' tuple, called with them, gives: a dict, a lazy tensor, or an
    /// inert object.
    /// </summary>
    private object Call(int at, string noArguments, string noCallable)
    {
        object?[] arguments = Pop(at) as object?[] ?? throw Bad(at, noArguments);
        PickleGlobal callable = Pop(at) as PickleGlobal ?? throw Bad(at, noCallable);
        switch (callable.FullName)
        {
            case "collections.OrderedDict" when arguments.Length == 0:
                return new PickleDict();
            case "torch._utils._rebuild_tensor_v2" when arguments.Length is 6 or 7:
            case "torch._utils._rebuild_tensor" when arguments.Length == 4:
                return TensorRecord.Create(arguments[0], arguments[1], arguments[2], arguments[3]);
            case "torch._utils._rebuild_parameter" or "torch._utils._rebuild_parameter_with_state" when arguments.Length >= 1 && arguments[0] is TensorRecord data:
                return data; // an nn.Parameter: its data is the tensor
            default:
                return new PickledObject(callable, arguments);
        }
    }

    private PickleGlobal StackGlobal(int at)
    {
        object? name = Pop(at);
        return new PickleGlobal(Pop(at) as string ?? throw Bad(at, "STACK_GLOBAL needs a module name"), name as string ?? throw Bad(at, "STACK_GLOBAL needs a name"));
    }

    private object?[] Tuple(int count, int at)
    {
        var tuple = new object?[count];
        for (int i = count - 1; i >= 0; i--)
        {
            tuple[i] = Pop(at);
        }

        return tuple;
    }

    private static PickleDict SetItems(PickleDict dict, List<object?> pairs, int at)
    {
        if (pairs.Count % 2 != 0)
        {
            throw Bad(at, "SETITEMS needs key-value pairs, but has an odd number of values");
        }

        for (int i = 0; i < pairs.Count; i += 2)
        {
            dict.Set(pairs[i], pairs[i + 1], at);
        }

        return dict;
    }

    /// <summary>A little-endian two's-complement integer of <paramref name="length"/> bytes (LONG1, LONG4), at most 8 (so it fits a long).</summary>
    private long Long(int length, int at) =>
        length <= 8 ? (long)new BigInteger(Bytes(length)) : throw Bad(at, $"an integer of {length} bytes is out of range");

    private byte Byte() => _position < data.Length ? data[_position++] : throw Bad(_position, "the pickle ends before its STOP opcode (truncated)");

    private ReadOnlySpan<byte> Bytes(int count)
    {
        if (count > data.Length - _position)
        {
            throw Bad(_position, $"{count} bytes are declared but only {data.Length - _position} are left (truncated or corrupted)");
        }

        var span = new ReadOnlySpan<byte>(data, _position, count);
        _position += count;
        return span;
    }

    /// <summary>A declared length as an int, refused when more than the bytes that are left.</summary>
    private int Length(ulong declared, int at) =>
        declared <= (ulong)(data.Length - _position) ? (int)declared : throw Bad(at, $"a length of {declared} bytes is declared but only {data.Length - _position} are left");

    private int Length(long declared, int at) => declared >= 0 ? Length((ulong)declared, at) : throw Bad(at, $"a negative length {declared}");

    /// <summary>The length before a string's or bytes' data: one byte for the SHORT_ opcodes, eight for the 8 ones, else four.</summary>
    private int DataLength(byte op, int at) => op switch
    {
        0x8c or (byte)'U' or (byte)'C' => Byte(),
        0x8d or 0x8e => Length(BinaryPrimitives.ReadUInt64LittleEndian(Bytes(8)), at),
        _ => Length(BinaryPrimitives.ReadUInt32LittleEndian(Bytes(4)), at),
    };

    private string Line(int at)
    {
        int end = Array.IndexOf(data, (byte)'\n', _position);
        if (end < 0)
        {
            throw Bad(at, "GLOBAL's name has no end of line (truncated)");
        }

        string line = StrictUtf8.GetString(data, _position, end - _position);
        _position = end + 1;
        return line;
    }

    private void Push(object? value)
    {
        Made();
        _stack.Add(value);
    }

    /// <summary>Counts one more value, mark or memo entry, refusing the pickle past <see cref="MaxValues"/>.</summary>
    private void Made()
    {
        if (++_made > MaxValues)
        {
            throw Bad(_position, $"it makes more than {MaxValues} values, far more than any checkpoint's");
        }
    }

    private object? Peek(int at) => _stack.Count > (_marks.Count > 0 ? _marks[^1] : 0) ? _stack[^1] : throw Bad(at, "an opcode needs a value, but the stack (above its last mark) is empty");

    private object? Pop(int at)
    {
        object? value = Peek(at);
        _stack.RemoveAt(_stack.Count - 1);
        return value;
    }

    private List<object?> PopMark(int at)
    {
        if (_marks.Count == 0)
        {
            throw Bad(at, "an opcode needs a MARK, but there is none");
        }

        int mark = _marks[^1];
        _marks.RemoveAt(_marks.Count - 1);
        List<object?> items = _stack.GetRange(mark, _stack.Count - mark);
        _stack.RemoveRange(mark, _stack.Count - mark);
        return items;
    }

    private List<object?> ListAt(int at) => Peek(at) as List<object?> ?? throw Bad(at, $"APPEND needs a list, but finds {PickleValues.Describe(Peek(at))}");

    private PickleDict DictAt(int at) => Peek(at) as PickleDict ?? throw Bad(at, $"SETITEM needs a dict, but finds {PickleValues.Describe(Peek(at))}");

    private object? Memo(long index, int at) => _memo.TryGetValue(index, out object? value) ? value : throw Bad(at, $"memo entry {index} is read before it is written");

    private static InvalidDataException Bad(int at, string what) => new($"data.pkl is malformed at byte {at}: {what}.");
}
