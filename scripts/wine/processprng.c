/*
 * bcryptprimitives.dll for Wine 8.0, which has none: Go 1.24 and later load
 * ProcessPrng from it at start and die without it ("bcryptprimitives.dll not
 * found"). This one exports ProcessPrng on top of RtlGenRandom (advapi32's
 * SystemFunction036), which Wine has. Test use only: it is copied into a
 * throwaway Wine prefix's system32 by scripts/wine/prefix, never shipped.
 * Real Windows (8 and later) has its own bcryptprimitives.dll.
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
	while (len > 0) {
		ULONG n = len > 0x10000000 ? 0x10000000 : (ULONG)len;
		if (!SystemFunction036(data, n))
			return FALSE;
		data += n;
		len -= n;
	}
	return TRUE;
}

BOOL WINAPI DllMain(HINSTANCE instance, DWORD reason, LPVOID reserved)
{
	(void)instance; (void)reason; (void)reserved;
	return TRUE;
}
