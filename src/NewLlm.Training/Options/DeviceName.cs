using System.Globalization;
using TorchSharp;

namespace NewLlm.Training;

/// <summary>Parses device names ("cpu", "cuda", "cuda:N") and checks that the device exists.</summary>
public static class DeviceName
{
    /// <summary>Parses a device name.</summary>
    /// <param name="name">"cpu", "cuda" or "cuda:N".</param>
    /// <param name="type">The device type.</param>
    /// <param name="index">The CUDA device index (-1 for "cpu" and "cuda").</param>
    public static bool TryParse(string? name, out DeviceType type, out int index)
    {
        type = DeviceType.CPU;
        index = -1;
        string text = (name ?? string.Empty).Trim().ToLowerInvariant();
        if (text == "cpu")
        {
            return true;
        }

        if (text == "cuda")
        {
            type = DeviceType.CUDA;
            return true;
        }

        if (text.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(text.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out int n))
        {
            type = DeviceType.CUDA;
            index = n;
            return true;
        }

        return false;
    }

    /// <summary>Resolves a device name to a TorchSharp device, with a clear error when CUDA is asked for and absent.</summary>
    /// <exception cref="ArgumentException">The name is not "cpu", "cuda" or "cuda:N".</exception>
    /// <exception cref="InvalidOperationException">CUDA was asked for but is not available, or the index is out of range.</exception>
    public static torch.Device Resolve(string name)
    {
        if (!TryParse(name, out DeviceType type, out int index))
        {
            throw new ArgumentException($"Device '{name}' is not valid: use 'cpu', 'cuda' or 'cuda:N'.", nameof(name));
        }

        TorchBackend.EnsureLoaded();
        if (type == DeviceType.CPU)
        {
            return torch.CPU;
        }

        if (!torch.cuda.is_available())
        {
            throw new InvalidOperationException(
                $"Device '{name}' was requested, but CUDA is not available here: the application references no CUDA backend (TorchSharp-cuda-linux or TorchSharp-cuda-windows) or no NVIDIA GPU/driver was found. Set TrainerOptions.Device to \"cpu\", or reference a CUDA backend package.");
        }

        int count = torch.cuda.device_count();
        if (index >= count)
        {
            throw new InvalidOperationException($"Device '{name}' was requested, but only {count} CUDA device(s) exist (cuda:0 to cuda:{count - 1}).");
        }

        return torch.device(DeviceType.CUDA, Math.Max(index, 0));
    }
}
