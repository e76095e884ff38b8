/* A library that loads but is not a usable SKF library: it exports every function eseal
 * requires except SKF_ECCSignData. Built by cmake/softskf.cmake for test_keydev_skf. */
#include "eseal/skf.h"

ULONG DEVAPI SKF_EnumDev(BOOL bPresent, LPSTR szNameList, ULONG *pulSize)
{
    (void)bPresent;
    if (!pulSize) return SAR_INVALIDPARAMERR;
    if (szNameList && *pulSize >= 2) szNameList[0] = szNameList[1] = 0;
    *pulSize = 2;
    return SAR_OK;
}

ULONG DEVAPI SKF_ConnectDev(LPSTR szName, DEVHANDLE *phDev)
{
    (void)szName;
    (void)phDev;
    return SAR_DEVICE_REMOVED;
}

ULONG DEVAPI SKF_DisConnectDev(DEVHANDLE hDev)
{
    (void)hDev;
    return SAR_OK;
}

ULONG DEVAPI SKF_GetDevInfo(DEVHANDLE hDev, DEVINFO *pDevInfo)
{
    (void)hDev;
    (void)pDevInfo;
    return SAR_NOTSUPPORTYETERR;
}

ULONG DEVAPI SKF_EnumApplication(DEVHANDLE hDev, LPSTR szAppName, ULONG *pulSize)
{
    (void)hDev;
    (void)szAppName;
    (void)pulSize;
    return SAR_NOTSUPPORTYETERR;
}

ULONG DEVAPI SKF_OpenApplication(DEVHANDLE hDev, LPSTR szAppName, HAPPLICATION *phApplication)
{
    (void)hDev;
    (void)szAppName;
    (void)phApplication;
    return SAR_NOTSUPPORTYETERR;
}

ULONG DEVAPI SKF_CloseApplication(HAPPLICATION hApplication)
{
    (void)hApplication;
    return SAR_NOTSUPPORTYETERR;
}

ULONG DEVAPI SKF_VerifyPIN(HAPPLICATION hApplication, ULONG ulPINType, LPSTR szPIN,
                           ULONG *pulRetryCount)
{
    (void)hApplication;
    (void)ulPINType;
    (void)szPIN;
    (void)pulRetryCount;
    return SAR_NOTSUPPORTYETERR;
}

ULONG DEVAPI SKF_EnumContainer(HAPPLICATION hApplication, LPSTR szContainerName, ULONG *pulSize)
{
    (void)hApplication;
    (void)szContainerName;
    (void)pulSize;
    return SAR_NOTSUPPORTYETERR;
}

ULONG DEVAPI SKF_OpenContainer(HAPPLICATION hApplication, LPSTR szContainerName,
                               HCONTAINER *phContainer)
{
    (void)hApplication;
    (void)szContainerName;
    (void)phContainer;
    return SAR_NOTSUPPORTYETERR;
}

ULONG DEVAPI SKF_CloseContainer(HCONTAINER hContainer)
{
    (void)hContainer;
    return SAR_NOTSUPPORTYETERR;
}

ULONG DEVAPI SKF_ExportPublicKey(HCONTAINER hContainer, BOOL bSignFlag, BYTE *pbBlob,
                                 ULONG *pulBlobLen)
{
    (void)hContainer;
    (void)bSignFlag;
    (void)pbBlob;
    (void)pulBlobLen;
    return SAR_NOTSUPPORTYETERR;
}
